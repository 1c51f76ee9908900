"""The semantic step: a document that retells one already kept in its genre is dropped.

Exact and MinHash dedup see shared words in order; a retelling (new names, new words,
another order) shares almost no 5-gram and passes both. This step compares what a text
is about: its name-insensitive word vector and its word set (`semantic_words`).

Two documents are the same story when all three hold (docs/clean.md has how they were
calibrated on real prose, short and long):
- their cosine is at least `threshold`;
- it exceeds each one's *background* by `margin`: a document's background is its cosine
  with its `background_rank`-th nearest document of the genre, or its median neighbour
  in a genre too small for that rank (fewer than 2 x rank + 1 documents: there the rank
  would be the farthest document, which any two texts on the genre's subject beat).
  Texts drawn from one pool of words or sentences (a genre's common vocabulary, a test
  fake) are all close to each other, so no pair of them stands out; a retelling stands
  out from the rest;
- their distinct words (names left out), less the words common in the genre
  (`semantic_common`), overlap by `min_word_overlap` (Jaccard).

Order: the decision needs every document of a genre, so the documents that reach this
step are held in an unlinked temporary file (memory holds their vectors, not their
texts) and decided when the input ends. Within a genre they are visited in a canonical
order, and each is dropped if it repeats a document kept before it in that order; so the
kept set does not depend on the input order or the number of workers. The order is the
plan's for generated documents (`Document.plan_position`: the earliest of two repeats is
kept, as exact and MinHash dedup do, so the budget's cut in plan order is stable), then
normalised-text digest and id for text that has no plan position. The held documents
are then released in input order: shards come out in the same order as without this step.

Neighbours: every document's background rank + 1 nearest in its genre
(`clean.neighbours`: exact up to `exact_max_docs`, an inverted-file search beyond). A
pair that can merge is always among them: it must beat the background.
"""

from __future__ import annotations

import itertools
import os
import pickle
import tempfile
from array import array
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from sdf_corpus.clean.config import SemanticConfig
from sdf_corpus.clean.neighbours import nearest
from sdf_corpus.clean.semantic_common import GenreWordCounts, Mask, content_overlap
from sdf_corpus.document import Document

__all__ = ["SemanticDedup", "SemanticMatch", "background_rank"]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
SemanticMatch = tuple[str, dict[str, float]]  # (id of the kept document, detail)

_FLUSH = 1 << 20


class _Spill:
    """Byte records in an unlinked temporary file: memory holds two offsets per record."""

    def __init__(self, prefix: str) -> None:
        # Lives as long as the step; closed by `close` (and unlinked from the start).
        self._file = tempfile.TemporaryFile(prefix=prefix)  # noqa: SIM115
        self._starts = array("q", [0])
        self._buf = bytearray()
        self._flushed = 0

    def __len__(self) -> int:
        return len(self._starts) - 1

    def add(self, data: bytes) -> None:
        self._buf += data
        self._starts.append(self._starts[-1] + len(data))
        if len(self._buf) >= _FLUSH:
            self._flush()

    def _flush(self) -> None:
        self._file.write(self._buf)
        self._file.flush()
        self._flushed += len(self._buf)
        self._buf.clear()

    def get(self, i: int) -> bytes:
        start, end = self._starts[i], self._starts[i + 1]
        if start >= self._flushed:
            return bytes(self._buf[start - self._flushed : end - self._flushed])
        return os.pread(self._file.fileno(), end - start, start)

    def __iter__(self) -> Iterator[bytes]:
        self._flush()
        self._file.seek(0)
        for i in range(len(self)):
            yield self._file.read(self._starts[i + 1] - self._starts[i])

    def close(self) -> None:
        self._file.close()


class SemanticDedup:
    """Holds the documents that passed exact and near dedup; `release` decides."""

    def __init__(self, cfg: SemanticConfig) -> None:
        self.cfg = cfg
        self._docs = _Spill("sdf-semantic-docs-")
        self._sets = _Spill("sdf-semantic-words-")
        self._rows: list[F32] = []
        self._blocks: list[npt.NDArray[np.float16]] = []
        self._groups: dict[str, int] = {}
        self._group = array("i")
        self._keys: list[tuple[bytes, str]] = []
        self._counts = GenreWordCounts()

    def __len__(self) -> int:
        return len(self._docs)

    def hold(self, doc: Document, vector: F32, words: bytes, digest: bytes) -> None:
        self._docs.add(pickle.dumps(doc, protocol=pickle.HIGHEST_PROTOCOL))
        self._sets.add(words)
        self._rows.append(vector)
        if len(self._rows) >= 4096:
            self._stack()
        group = self._groups.setdefault(doc.genre or "", len(self._groups))
        self._group.append(group)
        self._counts.add(group, words)
        self._keys.append((_rank(doc, digest), doc.id))

    def _stack(self) -> None:
        if self._rows:
            self._blocks.append(np.stack(self._rows).astype(np.float16))
            self._rows = []

    def release(self) -> Iterator[tuple[Document, SemanticMatch | None]]:
        """Every held document in the order held, with the kept document it repeats."""
        matches = self.decide()
        for i, data in enumerate(self._docs):
            yield pickle.loads(data), matches.get(i)

    def decide(self) -> dict[int, SemanticMatch]:
        """Held position -> its match, for every document this step drops."""
        self._stack()
        if not self._blocks:
            return {}
        groups = np.frombuffer(self._group, dtype=np.int32)
        keys = self._keys
        order = np.asarray(
            sorted(range(len(keys)), key=lambda i: (int(groups[i]), keys[i])), dtype=np.int64
        )
        # One copy in canonical order, each held block freed once moved: a genre is a slice.
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        vectors = np.empty((order.size, self._blocks[0].shape[1]), dtype=np.float16)
        start = 0
        while self._blocks:
            block = self._blocks.pop(0)
            vectors[rank[start : start + len(block)]] = block
            start += len(block)
        bounds = [0, *(np.flatnonzero(np.diff(groups[order])) + 1).tolist(), order.size]
        out: dict[int, SemanticMatch] = {}
        for lo, hi in itertools.pairwise(bounds):
            out.update(self._decide_group(order[lo:hi], vectors[lo:hi]))
        return out

    def _decide_group(
        self, members: I64, vectors: npt.NDArray[np.float16]
    ) -> dict[int, SemanticMatch]:
        n = members.size
        group = self._group[int(members[0])]
        common = self._counts.common(group, n, self.cfg.common_share, self.cfg.common_min_docs)
        self._counts.drop(group)
        if n < 2:
            return {}
        k = background_rank(self.cfg.background_rank, n)
        nbr, sim = nearest(vectors, k + 1, self.cfg.exact_max_docs)
        nbr, sim = _without_self(nbr, sim, k)
        background = sim[:, k - 1]
        return self._greedy(members, nbr, sim, background, common)

    def _greedy(
        self,
        members: I64,
        nbr: npt.NDArray[np.int32],
        sim: F32,
        background: F32,
        common: Mask,
    ) -> dict[int, SemanticMatch]:
        """Canonical order: a document repeats the first neighbour (most similar first)
        that was kept before it and passes all three tests; otherwise it is kept."""
        cfg = self.cfg
        rank = np.arange(members.size)[:, None]
        floor = np.maximum(background[:, None], background[np.maximum(nbr, 0)])
        possible = (nbr >= 0) & (nbr < rank) & (sim >= cfg.threshold) & (sim - floor >= cfg.margin)
        kept = np.ones(members.size, dtype=bool)
        out: dict[int, SemanticMatch] = {}
        for r in np.flatnonzero(possible.any(axis=1)).tolist():
            words = self._sets.get(int(members[r]))
            for col in np.flatnonzero(possible[r]).tolist():
                other = int(nbr[r, col])
                if not kept[other]:
                    continue
                overlap = content_overlap(words, self._sets.get(int(members[other])), common)
                if overlap >= cfg.min_word_overlap:
                    kept[r] = False
                    detail = {
                        "cosine": round(float(sim[r, col]), 4),
                        "background": round(float(floor[r, col]), 4),
                        "word_overlap": round(overlap, 4),
                    }
                    out[int(members[r])] = (self._keys[int(members[other])][1], detail)
                    break
        return out

    def close(self) -> None:
        self._docs.close()
        self._sets.close()


def _rank(doc: Document, digest: bytes) -> bytes:
    """The canonical order's key: plan position first, else the text's digest."""
    if doc.plan_position is not None:
        return b"\x00" + doc.plan_position.to_bytes(8, "big")
    return b"\x01" + digest


def background_rank(rank: int, docs: int) -> int:
    """Which neighbour sets the background in a genre of `docs` documents: `rank`, or the
    median neighbour where the genre is too small for it (at least the nearest)."""
    return max(1, min(rank, (docs - 1) // 2))


def _without_self(
    nbr: npt.NDArray[np.int32], sim: F32, k: int
) -> tuple[npt.NDArray[np.int32], F32]:
    """The `k` nearest other rows (a row's own slot moved last, then cut off)."""
    own = nbr == np.arange(nbr.shape[0], dtype=np.int32)[:, None]
    # the column each row drops: its own, else the last; small indices, not an argsort
    drop = np.where(own.any(axis=1), own.argmax(axis=1), nbr.shape[1] - 1).astype(np.int16)
    cols = np.arange(k, dtype=np.int16)[None, :]
    take = cols + (cols >= drop[:, None])
    return np.take_along_axis(nbr, take, axis=1), np.take_along_axis(sim, take, axis=1)
