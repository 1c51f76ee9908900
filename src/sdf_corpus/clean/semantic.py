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

Order: the decision needs every document of a genre, so it is made when the input ends.
Meanwhile the clean stage writes each document to its shard as it comes, and this step
keeps what it needs per document: in memory its float16 vector, its 16-byte digest and
file offsets; in unlinked temporary files its words, its id and the fields its shard row
cannot give back exactly (pickled; not the text), read back only for the documents it
drops, whose rejected/ row is the whole document. Those few are then taken out of the
shards they went to (`ShardWriter.remove`, by position), so the shards hold
the kept documents in input order, as without this step, and writing them overlaps with
the workers' part of the stage instead of waiting for the decision. Within a genre the
documents are visited in a canonical order, and each is dropped if it repeats a document
kept before it in that order; so the kept set does not depend on the input order or the
number of workers. The order is the plan's for generated documents
(`Document.plan_position`: the earliest of two repeats is kept, as exact and MinHash
dedup do, so the budget's cut in plan order is stable), then normalised-text digest and
id for text that has no plan position.

Search: one scan of each genre (`clean.neighbours`: exact up to `exact_max_docs`, an
inverted-file search beyond) that keeps, per block of similarities, each document's
background and only the pairs that pass the cosine and margin tests against the earlier
document's own background; no neighbour list per document. A pair that can merge is
always among a document's background-rank nearest: it must beat the background. The
word overlap is then read from disk for those few pairs only, against the genre's common
words (counted as documents are held, `GenreWordCounts`). A genre is one slice of the
canonical order, so another per-genre statistic is one more pass over `_sets` for the
genre's members before its search (`_decide_group`).

Pruning, exact: no cosine the search computes exceeds the genre's largest squared norm
(the vectors are float16-rounded unit vectors) plus a slack for float32 rounding, its
*ceiling*; a pair merges only if its cosine beats both documents' backgrounds by
`margin`. So a document whose background is above ceiling - margin is in no pair that
merges. The scan's first pass (`neighbours.Settle`) bounds each background from below by
the same rank over a sample of the block's columns; a document whose bound clears that
floor is *settled*: no full row of similarities, no pairs, and its bound stands in for
its background, which still rejects every pair with it in `_greedy` (nothing else reads
the background). Settled documents remain columns, so every other document's background
is unchanged, and the drops are the same with the pass (`PRUNE`) on or off
(tests/clean/test_semantic_prune.py). Where a genre's documents are all alike (bench_scale:
backgrounds around 0.95) most documents are settled; where they are spread, few are, and
the pass costs about a tenth of the full scan.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import pickle
import tempfile
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from sdf_corpus.clean.config import SemanticConfig
from sdf_corpus.clean.neighbours import Settle, plan_blocks, scan, top_values
from sdf_corpus.clean.semantic_common import GenreWordCounts, Mask, content_overlap
from sdf_corpus.document import Document

__all__ = ["SemanticDedup", "SemanticMatch", "background_rank"]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
SemanticMatch = tuple[str, dict[str, float]]  # (id of the kept document, detail)

_FLUSH = 1 << 20
PRUNE = True  # the scan's exact first pass (module docstring); tests compare it off
_SLACK = 1e-3  # above any float32 rounding of a cosine of 256-term vectors (~1e-5)
_LOOSE = np.float32(1e-5)  # a per-row candidate limit is loosened by this, then rechecked


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

    def add(self, records: Sequence[bytes]) -> None:
        """Append `records`, in order."""
        self._buf += b"".join(records)
        ends = itertools.accumulate(map(len, records), initial=self._starts[-1])
        next(ends)  # the initial value: the end of the record before, already held
        self._starts.extend(ends)
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

    def close(self) -> None:
        self._file.close()


@dataclass(frozen=True)
class _Pairs:
    """Pairs that can merge, by canonical rank within a genre: `later` repeats `earlier`."""

    later: I64
    earlier: I64
    cosine: F32


# A held document's fields that its shard row gives back exactly (`Document.to_row`);
# the step keeps the rest itself, pickled (the nested ones are stored as text there, and
# `truncated`, `metadata` and `plan_position` are not columns), not the text again.
_FROM_SHARD = (
    "id", "text", "genre", "format", "principle_id", "persona_id", "model", "backend",
    "n_tokens", "created_at",
)  # fmt: skip
_REST = tuple(f.name for f in dataclasses.fields(Document) if f.name not in _FROM_SHARD)

_DIGEST = 16  # bytes of the normalised-text digest (xxh3-128, clean/normalize.py)
# Each search thread holds a block's columns and a few 8 MiB arrays (~50-70 MiB): more
# threads than this would grow the peak with the machine's core count.
_MAX_THREADS = 4


class SemanticDedup:
    """Holds the documents that passed exact and near dedup; `decide` decides."""

    def __init__(self, cfg: SemanticConfig, threads: int = 1) -> None:
        self.cfg = cfg
        self.threads = max(1, min(threads, _MAX_THREADS))
        self._docs = _Spill("sdf-semantic-docs-")
        self._sets = _Spill("sdf-semantic-words-")
        self._ids = _Spill("sdf-semantic-ids-")
        self._rows: list[F32 | npt.NDArray[np.float16]] = []
        self._blocks: list[npt.NDArray[np.float16]] = []
        self._groups: dict[str, int] = {}
        self._group = array("i")
        self._digests = bytearray()
        self._positions = array("q")  # plan position, -1 for text that has none
        self._counts = GenreWordCounts()

    def __len__(self) -> int:
        return len(self._docs)

    def hold(
        self, doc: Document, vector: F32 | npt.NDArray[np.float16], words: bytes, digest: bytes
    ) -> None:
        """Hold one document (`hold_many` of one)."""
        self.hold_many([doc], [vector], [words], [digest])

    def hold_many(
        self,
        docs: Sequence[Document],
        vectors: Sequence[F32 | npt.NDArray[np.float16]],
        words: Sequence[bytes],
        digests: Sequence[bytes],
    ) -> None:
        """Hold documents, in order (a batch at a time: the clean stage calls this for
        every document that passes near dedup, so its per-call cost counts)."""
        assert all(len(d) == _DIGEST for d in digests), "ordered by the 16-byte digest"
        rests = [tuple(getattr(doc, k) for k in _REST) for doc in docs]
        self._docs.add([pickle.dumps(rest, protocol=pickle.HIGHEST_PROTOCOL) for rest in rests])
        self._sets.add(words)
        self._ids.add([doc.id.encode("utf-8") for doc in docs])
        self._rows.extend(vectors)
        if len(self._rows) >= 4096:
            self._stack()
        groups = [self._groups.setdefault(doc.genre or "", len(self._groups)) for doc in docs]
        self._group.extend(groups)
        self._counts.add_many(groups, words)
        self._digests += b"".join(digests)
        self._positions.extend(-1 if d.plan_position is None else d.plan_position for d in docs)

    def _stack(self) -> None:
        if self._rows:
            self._blocks.append(np.stack(self._rows).astype(np.float16, copy=False))
            self._rows = []

    def document(self, i: int, row: dict[str, Any]) -> Document:
        """The document held at position `i`, whole, from its shard row and what the
        step kept of it (`_REST`)."""
        rest = pickle.loads(self._docs.get(i))
        return Document(**{k: row[k] for k in _FROM_SHARD}, **dict(zip(_REST, rest, strict=True)))

    def held_id(self, i: int) -> str:
        """The id of the document held at position `i`."""
        return self._ids.get(i).decode("utf-8")

    def decide(self) -> dict[int, SemanticMatch]:
        """Held position -> its match, for every document this step drops."""
        self._stack()
        if not self._blocks:
            return {}
        groups = np.frombuffer(self._group, dtype=np.int32)
        order = self._canonical_order(groups)
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

    def _canonical_order(self, groups: npt.NDArray[np.int32]) -> I64:
        """Held positions by (genre, plan position, digest, id), documents without a plan
        position after those with one: digests are compared as big-endian halves, and
        only documents of one key (exact dedup off) read their ids."""
        halves = np.frombuffer(self._digests, dtype=">u8").reshape(-1, 2)
        plan = np.frombuffer(self._positions, dtype=np.int64)
        unplaced = (plan < 0).astype(np.uint64)
        at = np.maximum(plan, 0).astype(np.uint64)
        order = np.lexsort((halves[:, 1], halves[:, 0], at, unplaced, groups)).astype(np.int64)
        keys = np.column_stack(
            [groups[order].astype(np.uint64), unplaced[order], at[order], halves[order]]
        )
        same = np.flatnonzero((keys[1:] == keys[:-1]).all(axis=1))
        for lo, hi in _runs(same):
            run = order[lo : hi + 1]
            order[lo : hi + 1] = sorted(run.tolist(), key=lambda i: self._ids.get(i))
        return order

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
        background, pairs = self._search(vectors, k)
        return self._greedy(members, background, pairs, common)

    def _search(self, vectors: npt.NDArray[np.float16], k: int) -> tuple[F32, _Pairs]:
        """Every row's background (a settled row's lower bound), and the pairs (a row and
        an earlier row among its `k` nearest) whose cosine passes the threshold and the
        margin over the later row's background; the margin over the earlier row's
        background is checked after."""
        cfg = self.cfg
        background = np.full(vectors.shape[0], -np.inf, dtype=np.float32)
        found: list[tuple[I64, I64, F32]] = []

        def visit(rows: I64, cols: I64, s: F32) -> None:
            bg = _background(top_values(s, k))
            background[rows] = bg
            r, c = _candidates(s, bg, rows, cols, cfg.threshold, cfg.margin)
            if r.size:
                r, c = _within_rank(s, bg, r, c, k)
                found.append((rows[r], cols[c], s[r, c]))

        def settled(rows: I64, lower: F32) -> None:
            background[rows] = lower

        settle = Settle(k, _ceiling(vectors) - cfg.margin, settled) if PRUNE else None
        scan(vectors, plan_blocks(vectors, cfg.exact_max_docs), visit, self.threads, settle)
        if not found:
            empty = np.zeros(0, dtype=np.int64)
            return background, _Pairs(empty, empty, np.zeros(0, dtype=np.float32))
        later, earlier, cosine = (np.concatenate(parts) for parts in zip(*found, strict=True))
        return background, _Pairs(later, earlier, cosine)

    def _greedy(
        self, members: I64, background: F32, pairs: _Pairs, common: Mask
    ) -> dict[int, SemanticMatch]:
        """Canonical order: a document repeats the first candidate (most similar first,
        then the earliest) that was kept before it and passes all three tests; otherwise
        it is kept."""
        cfg = self.cfg
        floor = np.maximum(background[pairs.later], background[pairs.earlier])
        ok = pairs.cosine - floor >= cfg.margin
        later, earlier, cosine, floor = (
            pairs.later[ok],
            pairs.earlier[ok],
            pairs.cosine[ok],
            floor[ok],
        )
        order = np.lexsort((earlier, -cosine, later))
        kept = np.ones(members.size, dtype=bool)
        out: dict[int, SemanticMatch] = {}
        for i in order.tolist():
            r, other = int(later[i]), int(earlier[i])
            if not kept[r] or not kept[other]:
                continue  # r is decided already, or `other` was itself dropped
            words = self._sets.get(int(members[r]))
            overlap = content_overlap(words, self._sets.get(int(members[other])), common)
            if overlap >= cfg.min_word_overlap:
                kept[r] = False
                detail = {
                    "cosine": round(float(cosine[i]), 4),
                    "background": round(float(floor[i]), 4),
                    "word_overlap": round(overlap, 4),
                }
                out[int(members[r])] = (self._ids.get(int(members[other])).decode(), detail)
        return out

    def close(self) -> None:
        self._docs.close()
        self._sets.close()
        self._ids.close()


def background_rank(rank: int, docs: int) -> int:
    """Which neighbour sets the background in a genre of `docs` documents: `rank`, or the
    median neighbour where the genre is too small for it (at least the nearest)."""
    return max(1, min(rank, (docs - 1) // 2))


def _background(top: F32) -> F32:
    """A document's background from its nearest documents' cosines (largest first): the
    last, at the background rank."""
    return np.ascontiguousarray(top[:, -1])


def _ceiling(x: npt.NDArray[np.float16]) -> float:
    """Above any cosine of two rows of `x` as the search computes it: the largest squared
    norm, plus the float32 product's rounding (at most dim x 2^-24 of it) and `_SLACK`."""
    most = 0.0
    for lo in range(0, x.shape[0], 4096):  # 8 MiB of float64 at a time
        part = x[lo : lo + 4096].astype(np.float64)
        most = max(most, float(np.einsum("ij,ij->i", part, part).max()))
    dim = int(x.shape[1])
    return most * (1 + dim / 4_194_304) + _SLACK  # 4 x dim x 2^-24


def _candidates(
    s: F32, bg: F32, rows: I64, cols: I64, threshold: float, margin: float
) -> tuple[I64, I64]:
    """Cells (row, column) of an earlier column whose cosine reaches `threshold` and
    beats the row's background by `margin`: one comparison per cell with a per-row limit
    loosened by `_LOOSE`, then the exact float32 tests on the few cells it lets through."""
    limit = np.maximum(np.float32(threshold), bg + np.float32(margin)) - _LOOSE
    r, c = np.nonzero(s >= limit[:, None])
    v = s[r, c]
    ok = (v >= threshold) & (v - bg[r] >= margin) & (cols[c] < rows[r])
    return r[ok], c[ok]


def _within_rank(s: F32, bg: F32, r: I64, c: I64, k: int) -> tuple[I64, I64]:
    """Drop the candidates that tie the background but fall outside a row's `k` nearest
    (ties by column, as a neighbour list orders them). Only a margin of 0 lets a
    candidate tie the background, so this is a rare path."""
    tie = s[r, c] == bg[r]
    if not tie.any():
        return r, c
    keep = np.ones(r.size, dtype=bool)
    for i in np.flatnonzero(tie).tolist():
        row = s[r[i]]
        room = k - int(np.count_nonzero(row > bg[r[i]]))
        keep[i] = int(c[i]) in set(np.flatnonzero(row == bg[r[i]])[: max(room, 0)].tolist())
    return r[keep], c[keep]


def _runs(same: I64) -> Iterator[tuple[int, int]]:
    """(first, last) positions of each run of equal neighbours; `same[i]` marks that
    position `same[i]` equals the next one."""
    if same.size == 0:
        return
    breaks = np.flatnonzero(np.diff(same) > 1)
    firsts = [0, *(breaks + 1).tolist()]
    lasts = [*breaks.tolist(), same.size - 1]
    for a, b in zip(firsts, lasts, strict=True):
        yield int(same[a]), int(same[b]) + 1
