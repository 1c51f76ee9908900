"""Text normalisation shared by exact and near dedup.

Two documents that differ only in case, whitespace or punctuation are the same
document for training purposes, so both dedup steps hash this form.

`normalise` gives one text's form as a string. The clean stage needs the form
of a whole chunk of documents only as bytes (exact dedup digests it, MinHash
hashes its word n-grams), so `NormalisedBatch` builds it for many texts at once
in a few numpy passes: splitting each text into Python word strings and joining
them again cost about 50 us per document, more than the rest of MinHash.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import xxhash

__all__ = ["NormalisedBatch", "digest_normalised", "normalise"]

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]

# Anything that is neither a word character nor whitespace counts as punctuation;
# replacing it with a space (not deleting) keeps "end.Start" as two words.
_PUNCT = re.compile(r"[^\w\s]+|_+")

# ASCII fast path: one C-level bytes.translate instead of a regex scan, which
# made normalisation the slowest part of MinHash (about 200 us per document).
# Letters and digits lower-case, every other byte becomes a space.
_ASCII_TABLE = bytes(
    (b | 0x20) if chr(b).isalpha() else b if chr(b).isdigit() else 0x20 for b in range(256)
)
_SPACE = ord(" ")


def normalise(text: str) -> str:
    """Casefold, turn punctuation into spaces and collapse whitespace."""
    if text.isascii():
        return b" ".join(text.encode("ascii").translate(_ASCII_TABLE).split()).decode("ascii")
    return " ".join(_PUNCT.sub(" ", text.casefold()).split())


def digest_normalised(norm: str) -> bytes:
    """16-byte digest of a text passed through `normalise`: all exact dedup needs to remember."""
    return _digest(norm.encode("utf-8"))


def _digest(norm: bytes | memoryview) -> bytes:
    return xxhash.xxh3_128_digest(norm)


@dataclass(frozen=True)
class NormalisedBatch:
    """Texts in `normalise`d form, as UTF-8 bytes laid end to end, and where their words are.

    Every word is followed by one space in `data` (so text i's form, and any run
    of its words, is one slice), and `words[i]:words[i + 1]` index text i's
    words in `starts` and `ends`. A text without words has none.
    """

    data: U8
    starts: I64  # first byte of each word in `data`
    ends: I64  # one past its last byte (the space after it)
    words: I64  # per text, the index of its first word; one more entry at the end

    @classmethod
    def of(cls, texts: Sequence[str], *, normalised: bool = False) -> NormalisedBatch:
        """The batch of `texts`; `normalised=True` says they went through `normalise` already."""
        if normalised:
            parts = [t.encode("utf-8") for t in texts]
        else:  # the ASCII table leaves runs of spaces, collapsed below for all texts at once
            parts = [
                t.encode("ascii").translate(_ASCII_TABLE)
                if t.isascii()
                else normalise(t).encode("utf-8")
                for t in texts
            ]
        raw = np.frombuffer(b" ".join(parts) + b" ", dtype=np.uint8)
        space = raw == _SPACE
        # A space is kept where a word ends: each run collapses to one space after
        # its word, and leading runs (and texts of spaces alone) vanish.
        word_end = np.empty_like(space)
        word_end[0] = False
        np.greater(space[1:], space[:-1], out=word_end[1:])  # a space after a non-space
        keep = ~space
        keep |= word_end
        data = raw[keep]
        ends = np.flatnonzero(data == _SPACE)
        starts = np.empty_like(ends)
        starts[:1] = 0
        starts[1:] = ends[:-1] + 1
        # Text i is bytes [at_i, at_i + len_i] of `raw`, its separator included:
        # its words are the word ends in that range.
        lens = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts)) + 1
        at = np.zeros(len(parts), dtype=np.int64)
        np.cumsum(lens[:-1], out=at[1:])
        words = np.zeros(len(parts) + 1, dtype=np.int64)
        if parts:
            np.cumsum(np.add.reduceat(word_end, at, dtype=np.int64), out=words[1:])
        return cls(data, starts, ends, words)

    def __len__(self) -> int:
        return self.words.size - 1

    def digests(self) -> list[bytes]:
        """`digest_normalised(normalise(text))` of every text."""
        raw = memoryview(self.data.tobytes())
        first, end = self.words[:-1], self.words[1:]
        has = end > first
        lo = np.zeros(len(self), dtype=np.int64)
        hi = np.zeros(len(self), dtype=np.int64)  # no words: the empty slice [0:0]
        lo[has], hi[has] = self.starts[first[has]], self.ends[end[has] - 1]
        return [_digest(raw[a:b]) for a, b in zip(lo.tolist(), hi.tolist(), strict=True)]

    def select(self, lo: int, hi: int) -> NormalisedBatch:
        """Texts lo..hi-1 as a batch of their own (the bytes are a view, not a copy)."""
        w0, w1 = int(self.words[lo]), int(self.words[hi])
        b0 = int(self.starts[w0]) if w1 > w0 else 0
        b1 = int(self.ends[w1 - 1]) + 1 if w1 > w0 else 0
        return NormalisedBatch(
            self.data[b0:b1],
            self.starts[w0:w1] - b0,
            self.ends[w0:w1] - b0,
            self.words[lo : hi + 1] - w0,
        )
