"""The idea pool in `plan --estimate`: fewer, longer requests, priced beside the baseline."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from sdf_corpus.chain import shared_prefix
from sdf_corpus.cli import main
from sdf_corpus.plan.planner import allocate
from sdf_corpus.pricing.estimate import CHARS_PER_TOKEN, estimate_cost
from sdf_corpus.pricing.pool import REASK_SHARE, compare
from sdf_corpus.spec.load import load_corpus


def test_the_idea_stage_is_priced_as_pool_requests(write_spec: Callable[..., Path]) -> None:
    corpus = load_corpus(write_spec(budget={"tokens": 400_000}))
    pooled, own = estimate_cost(corpus), estimate_cost(corpus, pool=False)
    counts = allocate(corpus, corpus.spec.budget.tokens).jobs
    for genre, n in counts.items():
        line = next(x for x in pooled.lines if (x.genre, x.stage) == (genre, "idea (pool)"))
        assert line.requests == math.ceil(n * (1 + REASK_SHARE) / 16)
        assert line.output_tokens == pytest.approx(n * (1 + REASK_SHARE) * 900 * 0.5 / 5)
        # still one cache write per genre: the pool reads the prefix the genre caches
        lines = [x for x in pooled.lines if x.genre == genre]
        prefix = len(shared_prefix(corpus, corpus.genres[genre])) / CHARS_PER_TOKEN
        assert sum(x.cache_write_tokens for x in lines) == pytest.approx(prefix)
        later = [(x.stage, x.requests) for x in lines if x is not line]
        assert later == [(x.stage, x.requests) for x in own.lines if x.genre == genre][1:]
    with_pool, without = compare(corpus, pooled, own)
    assert with_pool.idea_requests * 10 < without.idea_requests
    assert with_pool.idea_output_tokens * 3 < without.idea_output_tokens
    assert with_pool.total_cost_usd is not None and without.total_cost_usd is not None
    assert with_pool.total_cost_usd < without.total_cost_usd
    assert any("idea pool" in a for a in pooled.assumptions())
    assert not any("idea pool" in a for a in own.assumptions())


def test_plan_shows_both_sides_and_says_when_the_pool_does_not_apply(
    write_spec: Callable[..., Path],
) -> None:
    spec = write_spec()
    result = CliRunner().invoke(main, ["plan", str(spec), "--estimate"])
    assert result.exit_code == 0, result.output
    assert "idea pool: on" in result.output and "with the pool" in result.output
    assert "each job its own" in result.output and "idea (pool)" in result.output
    result = CliRunner().invoke(main, ["plan", str(spec), "--estimate", "--json"])
    data = json.loads(result.output)
    sides = data["estimate"]["idea_pool"]
    assert set(sides) == {"with the pool", "each job its own"}
    assert sides["with the pool"]["idea_requests"] < sides["each job its own"]["idea_requests"]
    off = CliRunner().invoke(main, ["plan", str(spec), "--estimate", "--set", "ideas.pool=false"])
    assert "idea pool: off" in off.output and "(pool)" not in off.output
    assert "with the pool" not in off.output


def test_the_local_backend_has_no_pool(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(backend={"provider": "local"}, genres=["blog_post"])
    result = CliRunner().invoke(main, ["plan", str(spec), "--estimate"])
    assert result.exit_code == 0, result.output
    assert "idea pool: not used (the local backend" in result.output
    assert "(pool)" not in result.output


def test_the_pool_is_priced_at_the_batch_rate_for_batch_mode(
    write_spec: Callable[..., Path],
) -> None:
    """`--batch` sends the pool's requests as batches too: their batch price is half of
    the immediate one, token class by token class, and the comparison shows it."""
    corpus = load_corpus(write_spec(budget={"tokens": 400_000}))
    pooled, own = estimate_cost(corpus), estimate_cost(corpus, pool=False)
    lines = [x for x in pooled.lines if x.stage == "idea (pool)"]
    assert lines
    for line in lines:
        assert line.cost_usd is not None and line.cost_usd > 0
        assert line.batch_cost_usd == pytest.approx(line.cost_usd / 2)
    with_pool, without = compare(corpus, pooled, own)
    assert with_pool.idea_cost_usd is not None
    assert with_pool.idea_batch_usd == pytest.approx(with_pool.idea_cost_usd / 2)
    assert with_pool.idea_batch_usd == pytest.approx(sum(x.batch_cost_usd or 0 for x in lines))
    figures = with_pool.as_dict()
    assert figures["idea_batch_usd_per_kept_mtok"] == pytest.approx(
        figures["idea_usd_per_kept_mtok"] / 2, rel=1e-3
    )
    assert without.total_batch_usd is not None and with_pool.total_batch_usd is not None
    assert with_pool.total_batch_usd < without.total_batch_usd
    result = CliRunner().invoke(main, ["plan", str(write_spec()), "--estimate"])
    assert "batch: idea" in result.output
