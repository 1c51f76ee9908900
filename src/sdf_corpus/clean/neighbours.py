"""Each document's nearest documents of its genre, by cosine of unit vectors.

Exact up to a few ten thousand documents: one matrix product per block of rows. Past
that, an inverted-file search (IVF, as faiss's IndexIVFFlat): k-means centroids from a
fixed sample, every vector assigned to its nearest centroid, and the rows of each list
compared exactly with the lists of that list's `probes` nearest centroids. Everything is
a deterministic matrix product, so the neighbours are the same on every run, whatever
the machine's thread count.

Why not an HNSW index: usearch's index is the same every run only when built on one
thread, and on one thread it took 420 s for 100,000 vectors of a genre whose documents
are all alike (benchmarks/RESULTS.md), where this search takes seconds.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["nearest"]

F32 = npt.NDArray[np.float32]
I32 = npt.NDArray[np.int32]

_BLOCK = 1024  # query rows per matrix product
_LIST = 600  # mean documents per inverted list
_SAMPLE = 64  # k-means sample: this many documents per centroid
_ROUNDS = 8  # k-means rounds


def nearest(
    x: npt.NDArray[np.float16],
    count: int,
    exact_max: int,
    probes: int = 6,
    list_size: int = _LIST,
) -> tuple[I32, F32]:
    """Per row: the `count` most similar rows (itself included), most similar first, ties
    by row number; a slot the search could not fill is -1 with similarity -inf."""
    n = x.shape[0]
    if n <= exact_max or n < 2 * list_size:
        return _exact(x, np.arange(n), np.arange(n), count)
    return _ivf(x, count, probes, list_size)


def _exact(
    x: npt.NDArray[np.float16],
    rows: npt.NDArray[np.int64],
    cols: npt.NDArray[np.int64],
    count: int,
) -> tuple[I32, F32]:
    """Neighbours of `rows` among `cols` (indices into `x`), as global row numbers;
    float32 products of the float16 rows, cast a block at a time."""
    nbr = np.full((rows.size, count), -1, dtype=np.int32)
    sim = np.full((rows.size, count), -np.inf, dtype=np.float32)
    base = x[cols].astype(np.float32)
    take = min(count, cols.size)
    for lo in range(0, rows.size, _BLOCK):
        s = x[rows[lo : lo + _BLOCK]].astype(np.float32) @ base.T
        if take < cols.size:
            cand = np.argpartition(-s, take - 1, axis=1)[:, :take]
        else:
            cand = np.broadcast_to(np.arange(cols.size), s.shape)
        vals = np.take_along_axis(s, cand, axis=1)
        ids = cols[cand]
        order = np.lexsort((ids, -vals), axis=1)
        nbr[lo : lo + _BLOCK, :take] = np.take_along_axis(ids, order, axis=1)
        sim[lo : lo + _BLOCK, :take] = np.take_along_axis(vals, order, axis=1)
    return nbr, sim


def _ivf(x: npt.NDArray[np.float16], count: int, probes: int, list_size: int) -> tuple[I32, F32]:
    n = x.shape[0]
    lists = max(2, n // list_size)
    centroids = _kmeans(x, lists)
    assign = np.empty(n, dtype=np.int64)
    for lo in range(0, n, 8 * _BLOCK):
        assign[lo : lo + 8 * _BLOCK] = np.argmax(
            x[lo : lo + 8 * _BLOCK].astype(np.float32) @ centroids.T, axis=1
        )
    order = np.argsort(assign, kind="stable")
    starts = np.searchsorted(assign[order], np.arange(lists + 1))
    near = np.argsort(-(centroids @ centroids.T), axis=1, kind="stable")[:, : min(probes, lists)]
    nbr = np.full((n, count), -1, dtype=np.int32)
    sim = np.full((n, count), -np.inf, dtype=np.float32)
    for c in range(lists):
        rows = order[starts[c] : starts[c + 1]]
        if rows.size == 0:
            continue
        cols = np.sort(np.concatenate([order[starts[p] : starts[p + 1]] for p in near[c]]))
        nbr[rows], sim[rows] = _exact(x, rows, cols, count)
    return nbr, sim


def _kmeans(x: npt.NDArray[np.float16], k: int) -> F32:
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
