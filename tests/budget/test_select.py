"""The shards' selection: deterministic, in plan order, within the bounds."""

from __future__ import annotations

import random

import pytest

from sdf_corpus.budget.bounds import GENRE_TOLERANCE, TOTAL_TOLERANCE, within
from sdf_corpus.budget.select import Candidate, Gap, hold_target, select


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


def test_documents_sent_beyond_the_cut_change_nothing_in_the_shards() -> None:
    """However many extra jobs a run sent (--workers, --batch, a resume), the shards are
    the same: the extras go to the reserve."""
    rng = random.Random(5)
    docs = [Candidate(f"{g}-{k}", g, rng.randint(100, 700)) for g in "ab" for k in range(40)]
    targets = {"a": 3000, "b": 5000}
    cut = select(docs, targets, 8000)
    kept = {d.id for d in docs} - cut.reserve
    assert not cut.open
    last = {g: max(int(i.split("-")[1]) for i in kept if i.startswith(g)) for g in "ab"}
    for extra in (2, 5):
        fewer = [d for d in docs if int(d.id.split("-")[1]) <= last[d.genre] + extra]
        again = select(fewer, targets, 8000)
        assert {d.id for d in fewer} - again.reserve == kept
        assert not again.open


def test_a_gap_in_plan_order_ends_the_genre_and_leaves_it_open() -> None:
    """A job in front not finished yet (another --workers process's): what lies beyond
    it waits in the reserve, and the genre is open until the gap is sent."""
    docs: list[Candidate | Gap] = [Candidate(f"x-{k}", "x", 100) for k in range(3)]
    docs += [Gap("x"), *(Candidate(f"x-{k}", "x", 100) for k in range(4, 9))]
    cut = select(docs, {"x": 500}, 500)
    assert cut.reserve == {f"x-{k}" for k in range(4, 9)}
    assert cut.open == {"x"}


def test_a_genre_that_ran_out_before_a_document_that_does_not_fit_is_open() -> None:
    docs = [Candidate(f"x-{k}", "x", 100) for k in range(4)]
    assert select(docs, {"x": 500}, 500).open == {"x"}
    assert (
        select(
            [*docs, Candidate("x-4", "x", 100), Candidate("x-5", "x", 100)], {"x": 500}, 500
        ).open
        == set()
    )
