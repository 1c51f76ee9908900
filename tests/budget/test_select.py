"""The shards' selection: deterministic, in plan order, within the bounds."""

from __future__ import annotations

import random

import pytest

from sdf_corpus.budget.bounds import GENRE_TOLERANCE, TOTAL_TOLERANCE, within
from sdf_corpus.budget.select import Candidate, hold_target


def _docs(seed: int, genres: dict[str, int]) -> list[Candidate]:
    rng = random.Random(seed)
    return [
        Candidate(f"{g}-{k}", g, rng.randint(lo // 2, lo * 2))
        for g, lo in genres.items()
        for k in range(120)
    ]


@pytest.mark.parametrize("seed", range(6))
def test_the_shards_hold_the_budget_and_every_genre_within_its_bound(seed: int) -> None:
    lengths = {"a": 300, "b": 900, "c": 1500, "d": 120, "e": 700, "f": 400, "g": 2000, "h": 60}
    docs = _docs(seed, lengths)
    targets = {g: 4000 for g in lengths}
    reserve = hold_target(docs, targets, 32_000)
    kept = [d for d in docs if d.id not in reserve]
    one = sum(d.tokens for d in kept) / len(kept)
    assert within(sum(d.tokens for d in kept), 32_000, TOTAL_TOLERANCE, one)
    for g, target in targets.items():
        mine = [d.tokens for d in kept if d.genre == g]
        assert within(sum(mine), target, GENRE_TOLERANCE, sum(mine) / len(mine))
    assert hold_target(docs, targets, 32_000) == reserve  # deterministic


def test_a_genre_keeps_the_front_of_its_plan_order() -> None:
    docs = [Candidate(f"x-{k}", "x", 100) for k in range(10)]
    reserve = hold_target(docs, {"x": 500}, 500)
    assert reserve == {f"x-{k}" for k in range(5, 10)}


def test_short_genres_keep_everything_and_user_text_is_never_held_back() -> None:
    docs = [Candidate("a-0", "a", 100), Candidate("u-0", "", 5000)]
    assert hold_target(docs, {"a": 1000}, 1000) == set()


def test_documents_larger_than_a_small_target_keep_every_genre_in_the_shards() -> None:
    """A 150-token budget over two genres, one document each of ~160 tokens: each
    genre keeps its document (one over a small target is within its bound)."""
    docs = [Candidate("a-0", "a", 162), Candidate("b-0", "b", 156)]
    assert hold_target(docs, {"a": 75, "b": 75}, 150) == set()


def test_a_short_total_takes_from_the_reserve_without_overshooting() -> None:
    docs = [Candidate(f"a-{k}", "a", 400) for k in range(5)]
    reserve = hold_target(docs, {"a": 1000}, 1000)
    assert len(reserve) == 2  # 3 x 400 = 1200: within one document of 1000
