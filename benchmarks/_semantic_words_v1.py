"""The semantic step's text features as they were before they reused the filters' words
(commit e742237): kept only as `bench_semantic.py --features`'s baseline. What they are
is `sdf_corpus.clean.semantic_words`'s docstring; this version found its own words: a
text became bytes with every byte that cannot be part of a word turned into a space
(sentence ends into a mark that stays attached to the word before it), and Arrow's
dictionary encoding numbered the words of the whole chunk in C.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from sdf_corpus.clean.filters.chunk import word_hashes
from sdf_corpus.embed import Embedder

__all__ = ["F32", "content_features"]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

_END = 1  # the byte that marks a sentence end
_DENSE_KEYS = 1 << 23  # (texts x distinct words) up to which keys are counted in a table
_SENTENCE_ENDS = b".!?;:\n"


def _byte_table() -> bytes:
    """Letters, apostrophes and every non-ASCII byte (letters of other scripts, curly
    quotes) stay; sentence ends become the end mark; anything else becomes a space."""
    table = bytearray(b" " * 256)
    for b in range(256):
        if b >= 0x80 or chr(b).isalpha() or chr(b) == "'":
            table[b] = b
    for b in _SENTENCE_ENDS:
        table[b] = _END
    return bytes(table)


_TABLE = _byte_table()
_STRIP = "'\u2018\u2019\u201c\u201d\u00ab\u00bb\u2014\u2013\u2026\u00a0\x01"


def content_features(texts: Sequence[str], embedder: Embedder) -> tuple[F32, list[bytes]]:
    """Per text: its unit vector (zeros if it has no words) and its distinct words'
    hashes (uint32 bytes, sorted), names left out of both."""
    n = len(texts)
    vectors = np.zeros((n, embedder.dim), dtype=np.float32)
    if n == 0:
        return vectors, []
    doc, token, raw_words = _tokens(texts)
    if not raw_words:
        return vectors, [b""] * n
    lower, cap, ends, kept_words = _classify(raw_words)
    word = lower[token]
    initial = np.ones(token.size, dtype=bool)  # each text's first word, and after an end
    initial[1:] = ends[token[:-1]] | (doc[1:] != doc[:-1])
    real = word >= 0  # bare sentence marks are not words
    doc, word, cap_at, initial = doc[real], word[real], cap[token[real]], initial[real]
    keys, counts, name = _per_doc_words(doc, word, cap_at, initial, len(kept_words))
    keys, counts = keys[~name], counts[~name]
    key_doc = keys // max(len(kept_words), 1)
    key_word = keys % max(len(kept_words), 1)
    table = _word_vectors_v1(embedder, kept_words)
    hashes = (word_hashes(kept_words) & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    bounds = np.searchsorted(key_doc, np.arange(n + 1))
    weights = (1.0 + np.log(counts)).astype(np.float32)
    sets: list[bytes] = []
    for i in range(n):
        lo, hi = int(bounds[i]), int(bounds[i + 1])
        ids = key_word[lo:hi]
        if hi > lo:
            vectors[i] = weights[lo:hi] @ table[ids]
        sets.append(
            np.sort(hashes[ids]).tobytes()
        )  # distinct words: distinct hashes, but for a rare collision
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    np.divide(vectors, norms, out=vectors, where=norms > 0)
    return vectors, sets


def _tokens(texts: Sequence[str]) -> tuple[I64, I64, list[str]]:
    """Per word position: its text and its raw token's id; and the distinct raw tokens."""
    pieces = [t.encode("utf-8", "replace").translate(_TABLE) for t in texts]
    data = np.frombuffer(b" ".join(pieces), dtype=np.uint8)
    in_word = np.zeros(data.size + 2, dtype=bool)
    np.not_equal(data, ord(" "), out=in_word[1:-1])
    edges = np.flatnonzero(in_word[1:] != in_word[:-1])
    starts, ends = edges[::2], edges[1::2]
    if starts.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), []
    offsets = np.zeros(starts.size + 1, dtype=np.int64)
    np.cumsum(ends - starts, out=offsets[1:])
    letters = np.compress(in_word[1:-1], data)
    flat = pa.Array.from_buffers(
        pa.large_binary(), starts.size, [None, pa.py_buffer(offsets), pa.py_buffer(letters)]
    )
    encoded = pc.dictionary_encode(flat)
    token = np.frombuffer(encoded.indices.buffers()[1], dtype=np.int32, count=len(flat))
    firsts = np.zeros(len(pieces) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, pieces), np.int64, len(pieces)) + 1, out=firsts[1:])
    doc = np.searchsorted(firsts, starts, side="right") - 1
    raw = [b.decode("utf-8", "replace") for b in encoded.dictionary.to_pylist()]
    return doc.astype(np.int64), token.astype(np.int64), raw


def _classify(
    raw_words: list[str],
) -> tuple[I64, npt.NDArray[np.bool_], npt.NDArray[np.bool_], list[str]]:
    """Per distinct raw token: its lower-case word's id (-1: no word), whether it is
    capitalised (an all-capitals word such as MRI is not), whether a sentence ends
    after it; and the distinct lower-case words."""
    ids: dict[str, int] = {}
    lower = np.full(len(raw_words), -1, dtype=np.int64)
    cap = np.zeros(len(raw_words), dtype=bool)
    ends = np.zeros(len(raw_words), dtype=bool)
    for i, raw in enumerate(raw_words):
        ends[i] = "\x01" in raw
        w = raw.replace("\x01", "").strip(_STRIP)
        if not w or not any(c.isalpha() for c in w):
            continue
        cap[i] = w[0].isupper() and not w.isupper()
        lower[i] = ids.setdefault(w.lower(), len(ids))
    return lower, cap, ends, list(ids)


def _per_doc_words(
    doc: I64, word: I64, cap: npt.NDArray[np.bool_], initial: npt.NDArray[np.bool_], n_words: int
) -> tuple[I64, I64, npt.NDArray[np.bool_]]:
    """Distinct (text, word) keys in order, their counts, and which are names: never in
    lower case in that text, and capitalised at least once in mid-sentence."""
    width = max(n_words, 1)
    key = doc * width + word
    space = (int(doc[-1]) + 1) * width if doc.size else 0
    if space <= _DENSE_KEYS:  # counting in a dense table: no sort (np.unique sorts)
        counts_all = np.bincount(key, minlength=space)
        keys = np.flatnonzero(counts_all)
        lower_uses = np.bincount(key[~cap], minlength=space)[keys]
        mid_caps = np.bincount(key[cap & ~initial], minlength=space)[keys]
        return keys, counts_all[keys], (lower_uses == 0) & (mid_caps > 0)
    keys, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    lower_uses = np.bincount(inverse, weights=~cap, minlength=keys.size)
    mid_caps = np.bincount(inverse, weights=cap & ~initial, minlength=keys.size)
    return keys, counts, (lower_uses == 0) & (mid_caps > 0)


def _word_vectors_v1(embedder: Embedder, words: list[str]) -> F32:
    """`Embedder.word_vectors` as it was then: per-position gathers (the token ids
    from the embedder's own cache, as then)."""
    out = np.zeros((len(words), embedder.dim), dtype=np.float32)
    if not words:
        return out
    pieces = embedder._token_ids(words)
    lens = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
    flat = np.fromiter((t for p in pieces for t in p), dtype=np.int64, count=int(lens.sum()))
    starts = np.zeros(len(pieces), dtype=np.int64)
    np.cumsum(lens[:-1], out=starts[1:])
    for j in range(int(lens.max(initial=0))):
        has = np.flatnonzero(lens > j)
        out[has] += embedder._table[flat[starts[has] + j]]
    nonzero = lens > 0
    out[nonzero] /= lens[nonzero, None].astype(np.float32)
    return out
