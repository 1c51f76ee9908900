"""Vectorised MinHash signatures, bit-compatible with datasketch's "affine32" scheme.

datasketch's `MinHash.update_batch` hashes each shingle in Python (SHA-1) and
runs the permutations per document; that caps it near 700 documents/s. Here a
whole batch is hashed at once:

1. shingle hashes: a polynomial hash mod 2**64 over the UTF-8 bytes of the
   batch, taken as prefix sums, so every word n-gram's hash is one subtraction
   and one multiplication (no Python loop per shingle); the 64-bit value is
   mixed (MurmurHash3 fmix64) and its high 32 bits are the shingle hash;
2. permutations: exactly datasketch's affine32 scheme (fmix32 pre-mix, then
   a_k * h + b_k mod 2**32 with datasketch's own a_k, b_k for the seed), over
   a (shingles x num_perm) block, reduced per document with
   `np.minimum.reduceat`.

Because step 2 is datasketch's scheme, a signature equals
`datasketch.MinHash(num_perm, seed, scheme="affine32", hashfunc=<step 1>)` fed
the same shingles, so estimates keep datasketch's (unbiased) properties and
signatures can be handed to `MinHashLSH` as `LeanMinHash` objects.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from sdf_corpus.clean.normalize import NormalisedBatch, normalise

if TYPE_CHECKING:
    from datasketch import LeanMinHash

__all__ = [
    "SCHEME",
    "MinHasher",
    "affine32_permutations",
    "distinct_hashes",
    "exact_jaccard",
    "shingle_hashes_reference",
    "sorted_jaccard",
]

SCHEME = "affine32"
U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]

_BASE = np.uint64(0x9E3779B97F4A7C15 | 1)  # odd, so it is invertible mod 2**64
_BASE_INV = np.uint64(pow(int(_BASE), -1, 1 << 64))
_SPACE = ord(" ")
# Bound the (shingles x num_perm) block so it stays in cache-sized pieces.
_BLOCK_SHINGLES = 8192
_SUB_BATCH = 128


def _fmix64(h: U64) -> U64:
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def _fmix32(h: U32) -> U32:
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def _powers(base: np.uint64, n: int) -> U64:
    out = np.full(n, base, dtype=np.uint64)
    out[0] = 1
    return np.cumprod(out, dtype=np.uint64)  # wraps mod 2**64, as intended


class _PowerTable:
    """base**i and base**-i for i < n, grown on demand and reused across batches."""

    def __init__(self) -> None:
        self.pw: U64 = _powers(_BASE, 1 << 16)
        self.inv: U64 = _powers(_BASE_INV, 1 << 16)

    def get(self, n: int) -> tuple[U64, U64]:
        if n > self.pw.size:
            size = max(n, 2 * self.pw.size)
            self.pw, self.inv = _powers(_BASE, size), _powers(_BASE_INV, size)
        return self.pw, self.inv


_POWERS = _PowerTable()


def _batch_shingles(batch: NormalisedBatch, ngram: int) -> tuple[U32, npt.NDArray[np.int64]]:
    """All shingle hashes of a batch and, per text, its first one's index.

    Texts without words get no shingles (their count is 0). A shingle's raw
    hash is P(end) - P(start) over the prefix sums P of byte * base**position,
    divided by base**start. Words (each with the space after it) partition
    `batch.data`, so P is only needed at word starts: one sum per word instead
    of a running sum over every byte.
    """
    data, starts, ends = batch.data, batch.starts, batch.ends
    pw, inv = _POWERS.get(data.size + 1)
    at_word = np.zeros(starts.size + 1, dtype=np.uint64)  # P at each word's start
    if starts.size:
        weighted = np.multiply(data, pw[: data.size], dtype=np.uint64)
        np.cumsum(np.add.reduceat(weighted, starts), out=at_word[1:])
    words_per_doc = np.diff(batch.words)
    first_word = batch.words[:-1]
    n_sh = np.where(words_per_doc > 0, np.maximum(words_per_doc - ngram + 1, 1), 0)
    offsets = np.concatenate(([0], np.cumsum(n_sh)))
    doc_of = np.repeat(np.arange(len(batch)), n_sh)
    local = np.arange(offsets[-1], dtype=np.int64) - offsets[:-1][doc_of]
    w0 = first_word[doc_of] + local
    w1 = np.minimum(w0 + ngram - 1, first_word[doc_of] + words_per_doc[doc_of] - 1)
    # P(end of word w1) = P(start of word w1 + 1) minus the space after w1
    end = ends[w1]
    raw = at_word[w1 + 1] - np.uint64(_SPACE) * pw[end] - at_word[w0]
    raw *= inv[starts[w0]]
    return (_fmix64(raw) >> np.uint64(32)).astype(np.uint32), offsets


class MinHasher:
    """Computes datasketch-compatible signatures for batches of texts."""

    def __init__(self, num_perm: int = 128, ngram: int = 5, seed: int = 1) -> None:
        self.num_perm = num_perm
        self.ngram = ngram
        self.seed = seed
        a, b = affine32_permutations(num_perm, seed)
        self._a, self._b = a, b
        self._empty = np.uint32(0xFFFFFFFF)

    def signatures(self, texts: Sequence[str], *, normalised: bool = False) -> U32:
        """(len(texts), num_perm) uint32 signatures; a text without words is all-max.

        `normalised=True` says the texts already went through `normalise`.
        """
        return self.sign(NormalisedBatch.of(texts, normalised=normalised))[0]

    def signatures_and_sets(
        self, texts: Sequence[str], *, normalised: bool = False
    ) -> tuple[U32, list[bytes]]:
        """`signatures`, and per text its shingle hashes (uint32 as bytes, in text
        order): the set near dedup verifies a candidate pair's exact Jaccard on."""
        return self.sign(NormalisedBatch.of(texts, normalised=normalised))

    def sign(self, batch: NormalisedBatch) -> tuple[U32, list[bytes]]:
        """`signatures_and_sets` of a batch already normalised (the clean stage has
        it from exact dedup)."""
        out = np.full((len(batch), self.num_perm), self._empty, dtype=np.uint32)
        sets: list[bytes] = []
        # Sub-batches keep the byte-level arrays (8 bytes per input byte) in cache.
        for lo in range(0, len(batch), _SUB_BATCH):
            hi = min(lo + _SUB_BATCH, len(batch))
            hashes, offsets = _batch_shingles(batch.select(lo, hi), self.ngram)
            out[lo:hi] = self._signatures(hashes, offsets)
            sets.extend(_shingle_sets(hashes, offsets))
        return out, sets

    def _signatures(self, hashes: U32, offsets: npt.NDArray[np.int64]) -> U32:
        out = np.full((offsets.size - 1, self.num_perm), self._empty, dtype=np.uint32)
        mixed = _fmix32(hashes)
        for lo, hi in self._doc_blocks(offsets):
            s0, s1 = int(offsets[lo]), int(offsets[hi])
            if s1 == s0:
                continue
            # (num_perm, shingles) layout: reduceat along the contiguous axis is
            # about 5x faster than along axis 0.
            block = self._a[:, None] * mixed[None, s0:s1]  # wraps mod 2**32
            block += self._b[:, None]
            counts = np.diff(offsets[lo : hi + 1])
            has = counts > 0
            seg = (offsets[lo:hi] - s0)[has]
            out[lo:hi][has] = np.minimum.reduceat(block, seg, axis=1).T
        return out

    def _doc_blocks(self, offsets: npt.NDArray[np.int64]) -> list[tuple[int, int]]:
        """Split documents into runs of about _BLOCK_SHINGLES shingles."""
        blocks: list[tuple[int, int]] = []
        lo, n_docs = 0, offsets.size - 1
        while lo < n_docs:
            target = offsets[lo] + _BLOCK_SHINGLES
            hi = int(np.searchsorted(offsets, target, side="right")) - 1
            hi = min(max(hi, lo + 1), n_docs)
            blocks.append((lo, hi))
            lo = hi
        return blocks

    def lean(self, signature: U32) -> LeanMinHash:
        """The signature as a datasketch `LeanMinHash` (for datasketch's own LSH classes)."""
        from datasketch import LeanMinHash

        return LeanMinHash(seed=self.seed, hashvalues=signature, scheme=SCHEME)


def _shingle_sets(hashes: U32, offsets: npt.NDArray[np.int64]) -> list[bytes]:
    """Per document, its shingle hashes as bytes, unsorted and possibly repeated:
    only candidate pairs are ever compared, so `exact_jaccard` sorts those, not
    every document."""
    raw = hashes.tobytes()
    return [raw[4 * int(a) : 4 * int(b)] for a, b in itertools.pairwise(offsets)]


def affine32_permutations(num_perm: int, seed: int) -> tuple[U32, U32]:
    """datasketch's affine32 (a, b) for `seed`, drawn the way `MinHash._init_permutations` does.

    Drawn here rather than read from a `datasketch.MinHash` because importing
    datasketch pulls in scipy (about 0.5 s per run); tests check the values
    against datasketch's, so the two cannot drift apart unnoticed.
    """
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def shingle_hashes_reference(text: str, ngram: int) -> list[int]:
    """Per-document (slow, readable) shingle hashes; tests check the batch path against it."""
    words = normalise(text).split()
    if not words:
        return []
    spans = [" ".join(words[i : i + ngram]) for i in range(max(len(words) - ngram + 1, 1))]
    out = []
    mask = (1 << 64) - 1
    for span in spans:
        h = 0
        for i, byte in enumerate(span.encode("utf-8")):
            h = (h + byte * pow(int(_BASE), i, 1 << 64)) & mask
        out.append(int(_fmix64(np.array([h], dtype=np.uint64))[0] >> np.uint64(32)))
    return out


def distinct_hashes(raw: bytes) -> U32:
    """Sorted distinct values of a shingle-hash buffer (np.unique without its overhead,
    which is most of its cost at a few hundred values)."""
    x = np.sort(np.frombuffer(raw, dtype=np.uint32))
    if x.size > 1:
        keep = np.empty(x.size, dtype=bool)
        keep[0] = True
        np.not_equal(x[1:], x[:-1], out=keep[1:])
        x = x[keep]
    return x


def exact_jaccard(a: bytes, b: bytes) -> float:
    """Jaccard similarity of two shingle sets from `signatures_and_sets`."""
    if not a or not b:
        return 1.0 if a == b else 0.0
    return sorted_jaccard(distinct_hashes(a), distinct_hashes(b))


def sorted_jaccard(x: U32, y: U32) -> float:
    """Jaccard similarity of two non-empty sorted arrays of distinct hashes."""
    at = np.searchsorted(y, x)
    np.minimum(at, y.size - 1, out=at)
    inter = int(np.count_nonzero(y[at] == x))
    return inter / (x.size + y.size - inter)
