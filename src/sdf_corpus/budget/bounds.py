"""How close to its target a build must land (docs/failures.md, "exit 6").

The shards hold the budget within TOTAL_TOLERANCE of it or one document,
whichever is larger, and each genre within GENRE_TOLERANCE of its mix target or
one document. One document is the mean kept document: a corpus of a few
documents cannot land closer than one of them.
"""

from __future__ import annotations

__all__ = ["GENRE_TOLERANCE", "TOTAL_TOLERANCE", "short", "slack", "within"]

TOTAL_TOLERANCE = 0.03
GENRE_TOLERANCE = 0.05


def slack(target: int, share: float, one_document: float) -> float:
    """Tokens a figure may miss `target` by: `share` of it, or one document."""
    return max(share * target, one_document)


def within(kept: int, target: int, share: float, one_document: float) -> bool:
    """Whether `kept` lands within the bound around `target`."""
    return abs(kept - target) <= slack(target, share, one_document)


def short(kept: int, target: int, share: float, one_document: float) -> bool:
    """Whether `kept` is below the bound (landing over it is a reserve's job, not a miss)."""
    return kept < target - slack(target, share, one_document)
