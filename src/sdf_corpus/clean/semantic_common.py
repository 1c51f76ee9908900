"""The words a genre uses everywhere, which the semantic step's word overlap leaves out.

Two different texts on one subject share the language's common words and the subject's
own (patient, ward, document, genre), and the longer they are, the larger that shared
part of their word sets: 500-word pieces of different docs overlapped as much as short
retellings of one story did (docs/clean.md). What marks a retelling is the words its
story uses and the rest of its genre does not. So the overlap is taken over a genre's
*uncommon* words: a word is common in a genre when more than `common_share` of the
genre's documents use it, and at least `common_min_docs` of them (in a small genre, a
story told a few times must not make its own words common).

Counting: how many documents of each genre use each word, from the word hashes every
held document brings (`semantic_words`), in a table of 2^19 counters per genre (2 MiB)
indexed by the hash's low bits. A sum of counts is the same in any input order and for
any number of workers. Two words that share a counter add up; that can only make a rare
word look common (its overlap then counts it out), and with a few hundred common words
among half a million counters it touches about 1 word in 1,700.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from sdf_corpus.clean.minhash import U32, distinct_hashes, sorted_jaccard

__all__ = ["GenreWordCounts", "Mask", "content_overlap"]

Mask = npt.NDArray[np.bool_]

_BITS = 19
_MASK = np.uint32((1 << _BITS) - 1)
_PENDING = 1 << 20  # word hashes buffered before they are counted in one bincount


class GenreWordCounts:
    """Per genre: how many held documents use each word (by hashed counter)."""

    def __init__(self) -> None:
        self._tables: dict[int, npt.NDArray[np.int32]] = {}
        self._pending: dict[int, list[U32]] = {}
        self._size = 0

    def add(self, group: int, words: bytes) -> None:
        """One document's distinct word hashes (uint32 bytes)."""
        self.add_many([group], [words])

    def add_many(self, groups: Sequence[int], words: Sequence[bytes]) -> None:
        """Documents' genres and distinct word hashes (uint32 bytes each). A count is a
        sum over documents, so one genre's documents are counted as one buffer."""
        joined: dict[int, list[bytes]] = {}
        for group, ws in zip(groups, words, strict=True):
            joined.setdefault(group, []).append(ws)
        for group, parts in joined.items():
            data = b"".join(parts)
            if data:
                self._pending.setdefault(group, []).append(np.frombuffer(data, dtype=np.uint32))
                self._size += len(data) // 4
        if self._size >= _PENDING:
            self._flush()

    def _flush(self) -> None:
        for group, parts in self._pending.items():
            counts = np.bincount(np.concatenate(parts) & _MASK, minlength=1 << _BITS)
            table = self._tables.setdefault(group, np.zeros(1 << _BITS, dtype=np.int32))
            table += counts.astype(np.int32)
        self._pending.clear()
        self._size = 0

    def common(self, group: int, docs: int, share: float, min_docs: int) -> Mask:
        """Per counter: whether its words are common in a genre of `docs` documents."""
        self._flush()
        table = self._tables.get(group)
        if table is None:
            return np.zeros(1 << _BITS, dtype=bool)
        return (table > share * docs) & (table >= min_docs)

    def drop(self, group: int) -> None:
        """Free a genre's counters once it is decided."""
        self._tables.pop(group, None)


def content_overlap(a: bytes, b: bytes, common: Mask) -> float:
    """Jaccard similarity of two documents' distinct words, common words left out."""
    x, y = _uncommon(a, common), _uncommon(b, common)
    if x.size == 0 or y.size == 0:
        return 0.0
    return sorted_jaccard(x, y)


def _uncommon(words: bytes, common: Mask) -> U32:
    x = distinct_hashes(words)
    out: U32 = x[~common[x & _MASK]]
    return out
