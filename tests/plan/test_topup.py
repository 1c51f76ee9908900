"""Top-up sizing from each genre's own shortfall (plan/topup.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sdf_corpus.plan.topup import size_top_up, standings
from sdf_corpus.spec.load import load_corpus

TARGETS = {"blog_post": 10_000, "news_article": 10_000}


def _size(
    write_spec: Callable[..., Path], kept: dict[str, tuple[int, int]], done: dict[str, int]
) -> dict[str, int]:
    corpus = load_corpus(write_spec(budget={"tokens": 20_000}))
    table = {g: {"tokens": t, "docs": d} for g, (t, d) in kept.items()}
    return size_top_up(corpus, standings(TARGETS, table, done), 20_000)


def test_the_short_genre_gets_the_top_up_not_the_one_over_target(
    write_spec: Callable[..., Path],
) -> None:
    counts = _size(
        write_spec,
        {"blog_post": (15_800, 16), "news_article": (3_000, 3)},
        {"blog_post": 16, "news_article": 10},
    )
    assert set(counts) == {"news_article"}
    assert counts["news_article"] == 24  # 7,000 short at the 300 tokens its own jobs kept


def test_a_genre_with_no_document_left_gets_jobs(write_spec: Callable[..., Path]) -> None:
    counts = _size(write_spec, {"blog_post": (21_000, 20)}, {"blog_post": 20, "news_article": 1})
    assert counts.get("news_article", 0) >= 1 and "blog_post" not in counts


def test_once_the_total_is_met_only_a_genre_beyond_the_tolerance_is_topped_up(
    write_spec: Callable[..., Path],
) -> None:
    near = {"blog_post": (11_000, 11), "news_article": (9_500, 10)}
    assert _size(write_spec, near, {"blog_post": 11, "news_article": 10}) == {}
    far = {"blog_post": (12_500, 12), "news_article": (8_500, 9)}
    assert set(_size(write_spec, far, {"blog_post": 12, "news_article": 9})) == {"news_article"}
