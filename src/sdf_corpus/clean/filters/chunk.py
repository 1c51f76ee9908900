"""The words of a chunk of documents as one integer array, shared by the filters that count.

The stop-word, loop, repetition and decontamination filters all look at word
sequences. Done per document, each of them paid a dozen numpy calls of fixed
overhead on arrays of a few hundred words, which was most of their cost. Here the
words of every document in a chunk are mapped once to ids in one vocabulary and
laid end to end; a filter then works on the whole chunk in a few numpy passes and
reads per-document answers back through `offsets`. Ids are exact (no hashing):
two positions hold the same id exactly when they hold the same word.

The words are the ones `base.words` gives, but no Python string is made per
word, which was most of the cost of building a chunk: every text becomes bytes
with its words between spaces (`base.word_bytes`), numpy finds the words in the
joined bytes, and Arrow's dictionary encoding numbers them; only the distinct
words become strings.

`word_chunk` remembers the last chunk it built, so the next filter asking for the
documents that survived the previous one gets a selection of it instead of a
second tokenisation.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from xxhash import xxh3_64_intdigest

from sdf_corpus.clean.filters.base import word_bytes

__all__ = ["I64", "WordChunk", "word_chunk", "word_hashes"]

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
U8 = npt.NDArray[np.uint8]
Bool = npt.NDArray[np.bool_]

_SPACE = ord(" ")


@dataclass
class _Vocab:
    """The chunk's distinct words, in first-occurrence order, shared by its selections."""

    words: list[str]
    lens: I64
    hashes: U64 | None = None  # word hashes, computed when decontamination asks


@dataclass(frozen=True)
class WordChunk:
    """Words of several texts: `ids[offsets[i]:offsets[i + 1]]` are text i's."""

    texts: tuple[str, ...]
    ids: I64
    offsets: I64
    vocab: _Vocab = field(repr=False)

    @classmethod
    def of(cls, texts: Sequence[str]) -> WordChunk:
        pieces = [word_bytes(t) for t in texts]
        data = np.frombuffer(b" ".join(pieces), dtype=np.uint8)
        starts, ends, letters = _word_spans(data)
        ids, vocab = _number(starts, ends, letters)
        # text i's bytes begin at firsts[i] (each text is followed by one joining
        # space), so its words are the ones starting before firsts[i + 1]
        firsts = np.zeros(len(pieces) + 1, dtype=np.int64)
        np.cumsum(
            np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces)) + 1, out=firsts[1:]
        )
        offsets = np.searchsorted(starts, firsts).astype(np.int64)
        lens = np.fromiter(map(len, vocab), dtype=np.int64, count=len(vocab))
        return cls(tuple(texts), ids, offsets, _Vocab(vocab, lens))

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def counts(self) -> I64:
        """Words per text."""
        return np.diff(self.offsets)

    @property
    def lens(self) -> I64:
        """Length in characters of every word."""
        return self.vocab.lens[self.ids]

    def doc_of(self) -> I64:
        """The text each word position belongs to."""
        return np.repeat(np.arange(len(self.texts), dtype=np.int64), self.counts)

    def among(self, chosen: frozenset[str]) -> Bool:
        """Per word position: whether its word is one of `chosen` (one set lookup
        per distinct word, not per position)."""
        ws = self.vocab.words
        hit = np.fromiter(map(chosen.__contains__, ws), dtype=bool, count=len(ws))
        return hit[self.ids]

    def words_of(self, i: int) -> list[str]:
        """Text i's words, read from its ids (the same as `base.words` of the text)."""
        ws = self.vocab.words
        return [ws[j] for j in self.ids[self.offsets[i] : self.offsets[i + 1]].tolist()]

    def word_hashes(self) -> U64:
        """`word_hashes` of every word position, computed once per distinct word."""
        return self.vocab_hashes()[self.ids]

    def vocab_hashes(self) -> U64:
        """`word_hashes` of every distinct word (`vocab.words`), computed once for the
        chunk and its selections (decontamination and the semantic step both ask)."""
        if self.vocab.hashes is None:
            self.vocab.hashes = word_hashes(self.vocab.words)
        return self.vocab.hashes

    def select(self, keep: Sequence[int]) -> WordChunk:
        """The chunk restricted to texts `keep` (ascending), sharing the vocabulary."""
        if len(keep) == len(self.texts):
            return self
        mask = np.zeros(len(self.texts), dtype=bool)
        mask[list(keep)] = True
        counts = self.counts[mask]
        offsets = np.zeros(counts.size + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        ids = self.ids[np.repeat(mask, self.counts)]
        return WordChunk(tuple(self.texts[i] for i in keep), ids, offsets, self.vocab)


def _word_spans(data: U8) -> tuple[I64, I64, U8]:
    """Where each word of a buffer of `word_bytes` starts and ends, and the buffer's
    word bytes alone, laid end to end (word i is `ends[i] - starts[i]` of them)."""
    in_word = np.zeros(data.size + 2, dtype=bool)  # a space before and after the buffer
    np.not_equal(data, _SPACE, out=in_word[1:-1])
    edges = np.flatnonzero(in_word[1:] != in_word[:-1])
    return edges[::2], edges[1::2], np.compress(in_word[1:-1], data)


def _number(starts: I64, ends: I64, letters: U8) -> tuple[I64, list[str]]:
    """Exact ids of the words and the distinct words, in first-occurrence order.

    Arrow's dictionary encoding is a hash table that compares the words' bytes
    (so ids are exact) and numbers each word as it first meets it, in C: no Python
    string per word, only one per distinct word.
    """
    value_offsets = np.zeros(starts.size + 1, dtype=np.int64)
    np.cumsum(ends - starts, out=value_offsets[1:])
    flat = pa.LargeStringArray.from_buffers(
        starts.size, pa.py_buffer(value_offsets), pa.py_buffer(letters)
    )
    encoded = pc.dictionary_encode(flat)
    # The int32 indices read from their buffer: `to_numpy` would import pandas
    # (pyarrow's one-time "is pandas here?" probe, ~0.2 s) in a process that has
    # not run `startup.skip_pandas_probe`.
    indices = np.frombuffer(encoded.indices.buffers()[1], dtype=np.int32, count=len(flat))
    return indices.astype(np.int64), encoded.dictionary.to_pylist()


def word_hashes(ws: Sequence[str]) -> U64:
    """A 64-bit hash per word: xxh3 of its UTF-8 bytes, the same in every process
    (Python's own str hash is randomised per interpreter), so an index built in
    one process can be shipped to workers that did not fork from it."""
    return np.fromiter(map(xxh3_64_intdigest, map(str.encode, ws)), dtype=np.uint64, count=len(ws))


_last: WordChunk | None = None
_last_at: dict[int, int] = {}


def word_chunk(texts: Sequence[str]) -> WordChunk:
    """`WordChunk.of(texts)`, or a selection of the last chunk when it holds every one
    of these texts (by identity: the chunk keeps them alive, so ids cannot be reused)."""
    global _last, _last_at
    if _last is not None:
        at = [_last_at.get(id(t), -1) for t in texts]
        if (
            at
            and all(i >= 0 and _last.texts[i] is t for i, t in zip(at, texts, strict=True))
            and all(a < b for a, b in itertools.pairwise(at))
        ):
            return _last.select(at)
    chunk = WordChunk.of(texts)
    _last, _last_at = chunk, {id(t): i for i, t in enumerate(chunk.texts)}
    return chunk
