"""Each document's nearest documents of its genre, by cosine of unit vectors.

The search is a list of *blocks*: a set of rows and the columns they are compared with.
Exact up to a few ten thousand documents: every row against every row. Past that, an
inverted-file search (IVF, as faiss's IndexIVFFlat): k-means centroids from a fixed
sample, every vector assigned to its nearest centroid, and the rows of each list
compared exactly with the lists of that list's `probes` nearest centroids. Everything is
a deterministic matrix product, so the neighbours are the same on every run, whatever
the machine's thread count.

`scan` hands each block's similarities (float32, a row's own column at -inf) to a
visitor, a bounded number of rows at a time, on `threads` threads (numpy's products and
partitions release the GIL); the semantic step keeps from each block only what it needs
(a background per row and the few pairs that can merge), not a neighbour list per row.
`nearest` is the plain neighbour list, for tests and small inputs.

A first pass (`Settle`, asked for by the semantic step) spares most rows of a genre whose
documents are all alike their full row of similarities. A row's `k`-th largest
similarity over an evenly spaced sample of its block's columns (`_SAMPLE_COLS`, itself
left out) is a lower bound on its `k`-th largest over all of them; a row whose bound is
above the caller's `floor` is handed to `Settle.settled` with that bound and is not
visited, the others are. Settled rows stay columns of the block, so what the visited rows
see does not change. A row's similarities must then not depend on which other rows share
its product: `_product` never hands numpy a single row (it would use gemv, whose sums
round otherwise), and the pass runs only on blocks of at least `_SETTLE_MIN_COLS`
columns, where OpenBLAS computes every entry of a product the same whatever its other
rows (checked in tests/clean/test_semantic_prune.py; smaller blocks cost little anyway).

Why not an HNSW index: usearch's index is the same every run only when built on one
thread, and on one thread it took 420 s for 100,000 vectors of a genre whose documents
are all alike (benchmarks/RESULTS.md), where this search takes seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits

__all__ = ["Block", "Settle", "nearest", "plan_blocks", "scan", "top_values"]

F32 = npt.NDArray[np.float32]
F16 = npt.NDArray[np.float16]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
Block = tuple[I64, I64]  # (rows, cols), both sorted global row numbers
Visitor = Callable[[I64, I64, F32], None]

_CELLS = 1 << 21  # similarities per product (8 MiB of float32): bounds each thread's memory
_LIST = 600  # mean documents per inverted list
_SAMPLE = 64  # k-means sample: this many documents per centroid
_ROUNDS = 8  # k-means rounds
_SAMPLE_COLS = 256  # columns of a block the first pass compares each row with
_SETTLE_MIN_COLS = 1024  # blocks narrower than this get no first pass


@dataclass(frozen=True)
class Settle:
    """The first pass: a row whose `k`-th largest similarity over a sample of its
    block's columns is above `floor` goes to `settled(rows, those similarities)`, not to
    the visitor."""

    k: int
    floor: float
    settled: Callable[[I64, F32], None]


def plan_blocks(
    x: F16, exact_max: int, probes: int = 6, list_size: int = _LIST, split: bool = False
) -> list[Block]:
    """The search as blocks: every row appears in exactly one block."""
    n = x.shape[0]
    if n <= exact_max or n < 2 * list_size:
        return [(np.arange(n), np.arange(n))] if n else []
    centroids = _kmeans(x, max(2, n // list_size))
    if split:
        centroids = _split_large(x, centroids, list_size)
    lists = centroids.shape[0]
    assign = _assign(x, centroids)
    order = np.argsort(assign, kind="stable")
    starts = np.searchsorted(assign[order], np.arange(lists + 1))
    near = np.argsort(-(centroids @ centroids.T), axis=1, kind="stable")[:, : min(probes, lists)]
    blocks: list[Block] = []
    for c in range(lists):
        rows = order[starts[c] : starts[c + 1]]
        if rows.size:
            cols = np.sort(np.concatenate([order[starts[p] : starts[p + 1]] for p in near[c]]))
            blocks.append((rows, cols))
    return blocks


def scan(
    x: F16, blocks: list[Block], visit: Visitor, threads: int = 1, settle: Settle | None = None
) -> None:
    """Call `visit(rows, cols, similarities)` for every block (less the rows `settle`
    settles, if given), in pieces of rows small enough that one product holds at most
    `_CELLS` similarities. `visit` and `settle.settled` may run on several threads at
    once, each on its own rows."""
    # One BLAS thread per product: OpenBLAS's own threads spin while they wait, which
    # cost ~1.8x the CPU of single-threaded products here; the threads below use the
    # cores for the products and the partitions alike.
    with threadpool_limits(limits=1, user_api="blas"):
        if threads <= 1:
            for block in blocks:
                _scan_block(x, block, visit, settle)
            return
        with ThreadPoolExecutor(threads) as pool:
            for _ in pool.map(lambda b: _scan_block(x, b, visit, settle), blocks):
                pass


def _scan_block(x: F16, block: Block, visit: Visitor, settle: Settle | None) -> None:
    rows, cols = block
    if settle is not None:
        rows = _unsettled(x, rows, cols, settle)
    if rows.size == 0:
        return
    base = x[cols].astype(np.float32)
    for part in _pieces(rows, cols.size):
        s = _product(x[part], base)
        _not_own(s, part, cols)
        visit(part, cols, s)


def _unsettled(x: F16, rows: I64, cols: I64, settle: Settle) -> I64:
    """The rows that need their full row of similarities; the others go to `settled`
    with their lower bound (the `k`-th largest over the sample, -inf where the sample
    holds fewer than `k` other rows)."""
    if cols.size < _SETTLE_MIN_COLS or settle.k >= _SAMPLE_COLS:
        return rows
    sample = cols[np.linspace(0, cols.size - 1, _SAMPLE_COLS).astype(np.int64)]  # distinct
    sub = x[sample].astype(np.float32)
    lower = np.empty(rows.size, dtype=np.float32)
    at = _SAMPLE_COLS - settle.k
    for lo in range(0, rows.size, _CELLS // _SAMPLE_COLS):
        part = rows[lo : lo + _CELLS // _SAMPLE_COLS]
        s = _product(x[part], sub)
        _not_own(s, part, sample)
        lower[lo : lo + part.size] = np.partition(s, at, axis=1)[:, at]
    done = lower > settle.floor
    if done.any():
        settle.settled(rows[done], lower[done])
    return rows[~done]


def _product(a: F16, base: F32) -> F32:
    """`a @ base.T` in float32. A single row is computed as two: numpy hands one row to
    gemv, whose sums round unlike gemm's, and a row's similarities must be the same
    whichever rows share its product (the first pass changes which do)."""
    if a.shape[0] == 1:
        a = np.repeat(a, 2, axis=0)
        return (a.astype(np.float32) @ base.T)[:1]
    return a.astype(np.float32) @ base.T


def _not_own(s: F32, part: I64, cols: I64) -> None:
    """A row is not its own neighbour: its own column, if among `cols`, goes to -inf."""
    own = np.minimum(np.searchsorted(cols, part), cols.size - 1)
    mine = cols[own] == part
    s[np.flatnonzero(mine), own[mine]] = -np.inf


def _pieces(rows: I64, width: int) -> Iterator[I64]:
    step = max(16, _CELLS // max(width, 1))
    for lo in range(0, rows.size, step):
        yield rows[lo : lo + step]


def top_values(s: F32, k: int) -> F32:
    """Per row, its `k` largest similarities, largest first (-inf where a row has fewer)."""
    if s.shape[1] < k:
        s = np.pad(s, ((0, 0), (0, k - s.shape[1])), constant_values=-np.inf)
    top = np.partition(s, s.shape[1] - k, axis=1)[:, s.shape[1] - k :]
    return -np.sort(-top, axis=1)


def nearest(
    x: F16,
    count: int,
    exact_max: int,
    probes: int = 6,
    list_size: int = _LIST,
    split: bool = False,
) -> tuple[I32, F32]:
    """Per row: the `count` most similar other rows, most similar first, ties by row
    number; a slot the search could not fill is -1 with similarity -inf."""
    n = x.shape[0]
    nbr = np.full((n, count), -1, dtype=np.int32)
    sim = np.full((n, count), -np.inf, dtype=np.float32)

    def visit(rows: I64, cols: I64, s: F32) -> None:
        take = min(count, cols.size)
        cand = np.argpartition(-s, take - 1, axis=1)[:, :take]
        vals = np.take_along_axis(s, cand, axis=1)
        ids = cols[cand]
        order = np.lexsort((ids, -vals), axis=1)
        ids, vals = np.take_along_axis(ids, order, 1), np.take_along_axis(vals, order, 1)
        ids[np.isneginf(vals)] = -1
        nbr[rows, :take], sim[rows, :take] = ids, vals

    scan(x, plan_blocks(x, exact_max, probes, list_size, split), visit)
    return nbr, sim


def _assign(x: F16, centroids: F32) -> I64:
    """Each row's nearest centroid."""
    assign = np.empty(x.shape[0], dtype=np.int64)
    step = 8192
    for lo in range(0, x.shape[0], step):
        assign[lo : lo + step] = np.argmax(x[lo : lo + step].astype(np.float32) @ centroids.T, 1)
    return assign


def _split_large(x: F16, centroids: F32, list_size: int) -> F32:
    """A list over twice `list_size` is split by k-means of its own rows. K-means from a
    sample leaves a few lists several times the mean where a genre's documents are all
    alike, and a row is compared with its probed lists whole: on 37k alike documents the
    search compared 3.3x as many pairs as even lists would, 1.8x after the split. Off in
    the semantic step (`split=False`): the split lists find fewer of the exact neighbours
    (0.85 against 0.94 in tests/clean/test_neighbours.py) and other ones, so the step's
    drops would change (benchmarks/RESULTS.md has what it saves and what it changes)."""
    assign = _assign(x, centroids)
    sizes = np.bincount(assign, minlength=centroids.shape[0])
    parts = []
    for c in range(centroids.shape[0]):
        if sizes[c] <= 2 * list_size:
            parts.append(centroids[c : c + 1])
        else:
            members = x[np.flatnonzero(assign == c)]
            parts.append(_kmeans(members, -(-int(sizes[c]) // list_size)))
    return np.concatenate(parts)


def _kmeans(x: F16, k: int) -> F32:
    """Spherical k-means on an evenly spaced sample, started from evenly spaced rows."""
    n = x.shape[0]
    sample = x[np.linspace(0, n - 1, min(n, k * _SAMPLE)).astype(np.int64)].astype(np.float32)
    centroids = sample[np.linspace(0, sample.shape[0] - 1, k).astype(np.int64)].copy()
    for _ in range(_ROUNDS):
        assign = np.argmax(sample @ centroids.T, axis=1)
        sums = np.zeros_like(centroids)
        np.add.at(sums, assign, sample)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        empty = norms[:, 0] == 0
        centroids = np.where(empty[:, None], centroids, sums / np.where(norms > 0, norms, 1))
    return centroids.astype(np.float32)
