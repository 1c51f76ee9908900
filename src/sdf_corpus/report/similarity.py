"""Similarity figures of a set of L2-normalised embedding rows: nearest-neighbour
cosines, near-duplicate clusters, the Vendi score, the mean pairwise cosine, a 2-D map.

Every function takes the rows of one group (a genre's sample, a cell's part of it) and
is exact on them; the bounds come from the caller's sample (report/semantic.py).
Products are taken in row blocks, so a 2,000-row group never builds more than a
block x 2,000 matrix at once.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = [
    "Vectors",
    "clusters",
    "mean_pairwise",
    "nearest",
    "pca_2d",
    "quantiles",
    "vendi_score",
]

Vectors = npt.NDArray[np.float32]
_BLOCK = 512
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def nearest(x: Vectors) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Each row's highest cosine to another row, and that row's index (-1 when alone)."""
    n = len(x)
    best = np.full(n, np.nan, dtype=np.float32)
    which = np.full(n, -1, dtype=np.int64)
    if n < 2:
        return best, which
    for start in range(0, n, _BLOCK):
        sims = x[start : start + _BLOCK] @ x.T
        rows = np.arange(sims.shape[0])
        sims[rows, rows + start] = -np.inf
        idx = np.argmax(sims, axis=1)
        which[start : start + len(idx)] = idx
        best[start : start + len(idx)] = sims[rows, idx]
    return best, which


def quantiles(values: npt.NDArray[np.float32]) -> dict[str, float] | None:
    """p10/p25/median/p75/p90 and max of the finite values, or None if there are none."""
    v = values[np.isfinite(values)]
    if not len(v):
        return None
    qs = np.quantile(v.astype(np.float64), QUANTILES)
    out = {f"p{round(q * 100)}": round(float(x), 4) for q, x in zip(QUANTILES, qs, strict=True)}
    out["median"] = out.pop("p50")
    out["max"] = round(float(v.max()), 4)
    return out


def clusters(x: Vectors, threshold: float) -> npt.NDArray[np.int64]:
    """A cluster label per row: connected components of the pairs with cosine >= threshold
    (single linkage, as a dedup that keeps the first of each chain would merge them)."""
    n = len(x)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    rows_i: list[npt.NDArray[np.int64]] = []
    rows_j: list[npt.NDArray[np.int64]] = []
    for start in range(0, n, _BLOCK):
        sims = x[start : start + _BLOCK] @ x.T
        i, j = np.nonzero(sims >= threshold)
        keep = i + start < j  # each pair once, no self-pairs
        rows_i.append(i[keep] + start)
        rows_j.append(j[keep])
    i_all, j_all = np.concatenate(rows_i), np.concatenate(rows_j)
    graph = coo_matrix((np.ones(len(i_all), dtype=np.int8), (i_all, j_all)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return np.asarray(labels, dtype=np.int64)


def vendi_score(x: Vectors) -> float:
    """exp of the Shannon entropy of the eigenvalues of K/n, K the cosine kernel
    (Friedman & Dieng, 2023): 1 for n copies of one row, n for n orthogonal rows.

    K = X Xᵀ and Xᵀ X share their non-zero eigenvalues, so the 256 x 256 matrix is
    enough: the score never exceeds the embedding's dimension. Zero rows (empty texts)
    are left out, since a kernel needs K[i, i] = 1.
    """
    x = x[np.linalg.norm(x, axis=1) > 0]
    n = len(x)
    if n == 0:
        return 0.0
    xd = x.astype(np.float64)
    eig = np.linalg.eigvalsh(xd.T @ xd / n)
    eig = eig[eig > 1e-12]
    eig = eig / eig.sum()
    return round(float(np.exp(-np.sum(eig * np.log(eig)))), 3)


def mean_pairwise(x: Vectors) -> float | None:
    """The mean cosine over distinct pairs, from the sum vector: (|Σx|² − Σ|x|²) / n(n−1)."""
    n = len(x)
    if n < 2:
        return None
    xd = x.astype(np.float64)
    total = float(np.sum(xd.sum(axis=0) ** 2)) - float(np.sum(xd * xd))
    return round(total / (n * (n - 1)), 4)


def pca_2d(x: Vectors) -> tuple[npt.NDArray[np.float32], list[float]]:
    """The rows projected on their first two principal components (numpy SVD, signs fixed
    so the largest loading of each component is positive: the same input, the same map),
    and the share of variance each component explains."""
    if len(x) < 2:
        return np.zeros((len(x), 2), dtype=np.float32), [0.0, 0.0]
    centred = x.astype(np.float64) - x.astype(np.float64).mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    components = vt[:2]
    signs = np.sign(components[np.arange(len(components)), np.argmax(np.abs(components), 1)])
    components = components * signs[:, None]
    points = centred @ components.T
    if points.shape[1] < 2:
        points = np.pad(points, ((0, 0), (0, 2 - points.shape[1])))
    variance = s**2
    share = [round(float(v / variance.sum()), 4) if variance.sum() else 0.0 for v in variance[:2]]
    return points.astype(np.float32), share + [0.0] * (2 - len(share))
