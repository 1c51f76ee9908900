"""Interval estimates for eval.json, all at 95%.

Proportions (multiple-choice accuracy, the misaligned-action rate) use the
Wilson score interval: unlike the normal approximation it stays inside [0, 1]
and behaves at 0 or n successes, which is where a well-aligned model's
misaligned-action rate lives. Means of paired differences (the attachment gap,
and every difference in `eval compare`) use a percentile bootstrap over the
pairs, 10,000 resamples with a fixed seed, so the same logs always give the same
interval; pairing keeps question difficulty, which both members share, out of
the interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["BOOTSTRAP_RESAMPLES", "BOOTSTRAP_SEED", "mean_interval", "wilson"]

Z95 = 1.959963984540054
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 20_240_601


def wilson(successes: int, n: int) -> dict[str, Any]:
    """Rate with its 95% Wilson score interval; None values when n is 0."""
    if n == 0:
        return {"n": 0, "successes": 0, "rate": None, "ci95": None, "method": "wilson"}
    p = successes / n
    denom = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denom
    return {
        "n": n,
        "successes": successes,
        "rate": round(p, 6),
        "ci95": [round(max(0.0, centre - half), 6), round(min(1.0, centre + half), 6)],
        "method": "wilson",
    }


def mean_interval(values: Sequence[float]) -> dict[str, Any]:
    """Mean with a 95% percentile-bootstrap interval (fixed seed); None when empty."""
    n = len(values)
    if n == 0:
        return {"n": 0, "mean": None, "ci95": None, "method": "bootstrap"}
    data = np.asarray(values, dtype=float)
    if n == 1:
        return {"n": 1, "mean": round(float(data[0]), 6), "ci95": None, "method": "bootstrap"}
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    # Resample in chunks: 10,000 x n floats at once is too much for very large sets.
    means = []
    for size in _chunks(BOOTSTRAP_RESAMPLES, max(1, 2_000_000 // n)):
        idx = rng.integers(0, n, size=(size, n))
        means.append(data[idx].mean(axis=1))
    lo, hi = np.percentile(np.concatenate(means), [2.5, 97.5])
    return {
        "n": n,
        "mean": round(float(data.mean()), 6),
        "ci95": [round(float(lo), 6), round(float(hi), 6)],
        "method": "bootstrap",
    }


def _chunks(total: int, size: int) -> list[int]:
    return [min(size, total - start) for start in range(0, total, size)]
