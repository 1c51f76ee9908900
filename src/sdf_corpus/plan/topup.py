"""Sizing a top-up round from each genre's own shortfall.

After a round is cleaned (and judged), every genre stands somewhere against its
target (budget x weight / sum of weights). A genre is short when it kept less
than its target while the corpus as a whole is short, or when it is under its
target by more than its bound (5 % or one document, `budget.bounds`) even though
the total was reached. A short
genre gets ceil(shortfall / yield) new jobs, where yield is what its own done
jobs kept on average; a genre whose jobs all were dropped (or that has none
done yet) falls back to the planner's expectation, halved, so it is not starved
again. The total never decides alone: a genre far over target cannot absorb a
top-up meant for one that is under.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from sdf_corpus.budget.bounds import GENRE_TOLERANCE, short
from sdf_corpus.plan.planner import expected_tokens
from sdf_corpus.spec.load import Corpus

__all__ = ["MIX_TOLERANCE", "Standing", "short_genres", "size_top_up", "standings"]

# The share under its target past which the summary names a genre (`outcome.explain`).
MIX_TOLERANCE = 0.10
# No genre's top-up exceeds this multiple of what its target alone would need
# at the planner's expectation: a yield near zero must not plan thousands of jobs.
_MAX_FACTOR = 4.0


@dataclass(frozen=True)
class Standing:
    genre: str
    target: int
    kept_tokens: int
    kept_docs: int
    done_jobs: int

    @property
    def shortfall(self) -> int:
        return max(0, self.target - self.kept_tokens)

    @property
    def mean(self) -> float:
        """The mean kept document (the bounds' "one document")."""
        return self.kept_tokens / self.kept_docs if self.kept_docs else 0.0

    @property
    def relative(self) -> float:
        return (self.kept_tokens - self.target) / self.target if self.target else 0.0


def standings(
    targets: Mapping[str, int],
    kept: Mapping[str, Mapping[str, int]],
    done_jobs: Mapping[str, int],
) -> list[Standing]:
    """Each genre against its target; `kept` is the manifest's by_genre table."""
    return [
        Standing(
            genre=g,
            target=int(t),
            kept_tokens=int(kept.get(g, {}).get("tokens", 0)),
            kept_docs=int(kept.get(g, {}).get("docs", 0)),
            done_jobs=int(done_jobs.get(g, 0)),
        )
        for g, t in sorted(targets.items())
    ]


def short_genres(rows: list[Standing], budget: int) -> list[Standing]:
    """Genres a top-up should serve (see the module docstring)."""
    total = sum(r.kept_tokens for r in rows)
    if total < budget:
        return [r for r in rows if r.shortfall > 0 or (r.target > 0 and r.kept_docs == 0)]
    return [
        r
        for r in rows
        if r.target > 0
        and (r.kept_docs == 0 or short(r.kept_tokens, r.target, GENRE_TOLERANCE, r.mean))
    ]


def size_top_up(corpus: Corpus, rows: list[Standing], budget: int) -> dict[str, int]:
    """Jobs per genre for the next round; empty when no genre is short."""
    counts: dict[str, int] = {}
    for r in short_genres(rows, budget):
        expected = expected_tokens(corpus, r.genre)
        observed = r.kept_tokens / r.done_jobs if r.done_jobs else 0.0
        per_job = observed if observed > 0 else expected / 2
        need = max(r.shortfall, 1)
        cap = max(1, math.ceil(_MAX_FACTOR * max(r.target, 1) / expected))
        counts[r.genre] = max(1, min(cap, math.ceil(need / per_job)))
    return counts
