"""The similarity figures on constructed vectors, where the right answer is known exactly."""

from __future__ import annotations

import numpy as np
import pytest

from sdf_corpus.report import similarity as sim


def _unit(rows: list[list[float]]) -> np.ndarray:
    x = np.array(rows, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _groups(sizes: list[int], dim: int = 64, noise: float = 0.02) -> np.ndarray:
    """Group g's rows are basis vector g plus small noise: cosine ~1 inside, ~0 across."""
    rng = np.random.default_rng(3)
    rows = []
    for g, size in enumerate(sizes):
        for _ in range(size):
            v = np.zeros(dim)
            v[g] = 1.0
            rows.append(v + rng.normal(0, noise, dim))
    return _unit(rows)


def test_vendi_score_counts_orthogonal_rows_and_collapses_copies() -> None:
    assert sim.vendi_score(np.eye(7, dtype=np.float32)) == pytest.approx(7.0)
    assert sim.vendi_score(np.tile(_unit([[1, 2, 3]]), (9, 1))) == pytest.approx(1.0)
    # 3 groups of 4 near-copies count as about 3 documents
    assert sim.vendi_score(_groups([4, 4, 4], noise=0.002)) == pytest.approx(3.0, abs=0.05)
    # empty rows (empty texts) are left out, not counted as a distinct document
    x = np.vstack([np.eye(3, dtype=np.float32), np.zeros((2, 3), dtype=np.float32)])
    assert sim.vendi_score(x) == pytest.approx(3.0)


def test_vendi_score_orders_fewer_plots_below_more() -> None:
    few, more, distinct = _groups([12, 12, 12, 12]), _groups([4] * 12), _groups([1] * 48)
    assert sim.vendi_score(few) < sim.vendi_score(more) < sim.vendi_score(distinct)


def test_clusters_are_components_of_close_pairs() -> None:
    labels = sim.clusters(_groups([4, 3, 1, 1]), 0.9)
    sizes = sorted(np.bincount(labels).tolist(), reverse=True)
    assert sizes == [4, 3, 1, 1]
    # a chain a~b~c is one cluster even though a and c are not close (single linkage)
    chain = _unit([[1, 0], [np.cos(0.4), np.sin(0.4)], [np.cos(0.8), np.sin(0.8)]])
    assert float(chain[0] @ chain[2]) < 0.9
    assert len(set(sim.clusters(chain, 0.9).tolist())) == 1
    assert sim.clusters(np.zeros((0, 4), dtype=np.float32), 0.9).size == 0


def test_clusters_and_nearest_agree_across_row_blocks() -> None:
    # more rows than one product block (512), so pairs across blocks are found
    x = _groups([300, 300, 1], dim=8, noise=0.01)
    sizes = sorted(np.bincount(sim.clusters(x, 0.9)).tolist(), reverse=True)
    assert sizes == [300, 300, 1]
    best, which = sim.nearest(x)
    assert which[0] != 0 and which[0] < 300 and which[350] >= 300
    assert best[:600].min() > 0.9 and best[600] < 0.1


def test_nearest_and_quantiles() -> None:
    x = _unit([[1, 0, 0], [0.8, 0.6, 0], [0, 0, 1]])
    best, which = sim.nearest(x)
    assert which.tolist() == [1, 0, 0] or which.tolist() == [1, 0, 1]
    assert best[:2] == pytest.approx([0.8, 0.8])
    q = sim.quantiles(np.array([0.1, 0.2, 0.3, 0.4, 0.5], dtype=np.float32))
    assert q == {"p10": 0.14, "p25": 0.2, "median": 0.3, "p75": 0.4, "p90": 0.46, "max": 0.5}
    lone, _ = sim.nearest(x[:1])
    assert sim.quantiles(lone) is None


def test_mean_pairwise_matches_the_pairs() -> None:
    x = _groups([3, 2, 4])
    sims = x @ x.T
    pairs = sims[np.triu_indices(len(x), 1)]
    assert sim.mean_pairwise(x) == pytest.approx(float(pairs.mean()), abs=1e-4)
    assert sim.mean_pairwise(x[:1]) is None


def test_pca_map_is_deterministic_and_separates_groups() -> None:
    x = _groups([20, 20], dim=16)
    xy, explained = sim.pca_2d(x)
    again, _ = sim.pca_2d(x.copy())
    assert np.array_equal(xy, again)
    assert explained[0] > 0.8 and sum(explained) <= 1.0
    # the first component splits the two groups
    assert np.sign(xy[:20, 0]).tolist().count(np.sign(xy[0, 0])) == 20
    assert np.sign(xy[20:, 0]).tolist().count(-np.sign(xy[0, 0])) == 20
    one, share = sim.pca_2d(x[:1])
    assert one.shape == (1, 2) and share == [0.0, 0.0]
