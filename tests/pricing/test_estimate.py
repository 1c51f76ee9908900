"""`plan --estimate`: tokens and cost per genre and stage, before anything is spent."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from sdf_corpus.chain import shared_prefix, stages_for
from sdf_corpus.cli import main
from sdf_corpus.plan.planner import allocate
from sdf_corpus.pricing.estimate import CHARS_PER_TOKEN, SPREAD, StageEstimate, estimate_cost
from sdf_corpus.pricing.prices import ANTHROPIC_PRICES
from sdf_corpus.spec.genres import Stage
from sdf_corpus.spec.load import load_corpus


def test_every_genre_and_stage_is_estimated_with_one_cache_write_per_genre(
    write_spec: Callable[..., Path],
) -> None:
    corpus = load_corpus(write_spec())
    estimate = estimate_cost(corpus)
    counts = allocate(corpus, corpus.spec.budget.tokens).jobs
    expected = [(g, s.name) for g in counts for s in stages_for(corpus.genres[g], "anthropic")]
    assert [(x.genre, x.stage) for x in estimate.lines] == expected
    for genre, n in counts.items():
        lines = [x for x in estimate.lines if x.genre == genre]
        assert all(x.requests == n for x in lines)
        prefix = len(shared_prefix(corpus, corpus.genres[genre])) / CHARS_PER_TOKEN
        assert sum(x.cache_write_tokens for x in lines) == pytest.approx(prefix)
        reads = prefix * (n * len(lines) - 1)
        assert sum(x.cache_read_tokens for x in lines) == pytest.approx(reads)
    assert estimate.price_source.startswith("sdf-corpus")
    total, batch = estimate.total("cost_usd"), estimate.total("batch_cost_usd")
    assert total and batch == pytest.approx(total / 2, rel=1e-3)


def test_document_stages_write_the_target_length_and_later_prompts_grow(
    write_spec: Callable[..., Path],
) -> None:
    corpus = load_corpus(write_spec(genres=["blog_post"]))
    lines = {x.stage: x for x in estimate_cost(corpus).lines}
    n = lines["idea"].requests
    assert lines["draft"].output_tokens == n * corpus.genres["blog_post"].mean_tokens
    assert lines["idea"].output_tokens == n * 900 * 0.5
    # the rewrite's prompt carries the draft: its input is larger by about a document
    grown = (lines["rewrite"].input_tokens - lines["draft"].input_tokens) / n
    assert grown > 0.6 * corpus.genres["blog_post"].mean_tokens


def test_spec_prices_win_and_extra_stages_join_the_total(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(
        prices={
            "claude-haiku-4-5": {
                "input": 2.0,
                "output": 10.0,
                "cache_read": 0.2,
                "cache_write": 2.5,
            }
        }
    )
    corpus = load_corpus(spec)
    base = estimate_cost(corpus)
    assert base.price_source == "spec prices" and base.price is not None
    assert base.price.input == 2.0 != ANTHROPIC_PRICES["claude-haiku-4-5"].input
    judge = Stage(name="judge", prompt="Grade this: {{ stages.rewrite }}", max_tokens=200)
    extra = estimate_cost(corpus, extra_stages={g: [judge] for g in corpus.genres})
    assert len(extra.lines) == len(base.lines) + len(corpus.genres)
    assert (extra.total("cost_usd") or 0) > (base.total("cost_usd") or 0)
    line = StageEstimate("blog_post", "judge", 10, input_tokens=1000, output_tokens=500)
    extra.extend([line])
    assert line.cost_usd == pytest.approx((1000 * 2.0 + 500 * 10.0) / 1e6)


def test_litellm_and_local_prices(write_spec: Callable[..., Path]) -> None:
    local = estimate_cost(load_corpus(write_spec(backend={"provider": "local", "model": ""})))
    assert local.total("cost_usd") == 0.0 and local.total("batch_cost_usd") is None
    assert all(x.cache_read_tokens == 0 for x in local.lines)
    other = estimate_cost(
        load_corpus(write_spec(backend={"provider": "litellm", "model": "openai/gpt-4o-mini"}))
    )
    assert other.price_source == "litellm model_cost"
    # OpenAI-format batches go through litellm (issue 26): half price in batch.
    assert (other.total("cost_usd") or 0) > 0
    assert other.total("batch_cost_usd") == pytest.approx((other.total("cost_usd") or 0) / 2)
    ours = estimate_cost(
        load_corpus(write_spec(backend={"provider": "litellm", "model": "openai/gpt-5.4-mini"}))
    )
    assert ours.price_source == "sdf-corpus OpenAI table (pricing/prices.py)"
    # A provider whose batch API litellm does not speak has no batch price.
    no_batch = estimate_cost(
        load_corpus(
            write_spec(
                backend={"provider": "litellm", "model": "ollama/llama3"},
                prices={"ollama/llama3": {"input": 0.1, "output": 0.2}},
            )
        )
    )
    assert (no_batch.total("cost_usd") or 0) > 0 and no_batch.total("batch_cost_usd") is None


def test_cli_prints_table_spread_and_json(write_spec: Callable[..., Path]) -> None:
    spec = write_spec()
    result = CliRunner().invoke(main, ["plan", str(spec), "--estimate", "--max-cost", "0.01"])
    assert result.exit_code == 0, result.output
    assert "TOTAL" in result.stdout and "batch $" in result.stdout
    assert f"+-{SPREAD:.0%}" in result.stdout
    assert "exceeds --max-cost" in result.stdout
    result = CliRunner().invoke(main, ["plan", str(spec), "--estimate", "--json"])
    data = json.loads(result.stdout)
    est = data["estimate"]
    assert est["spread"] == SPREAD and est["totals"]["cost_usd"] > est["totals"]["batch_cost_usd"]
    assert {"input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens"} <= set(
        est["stages"][0]
    )
    plain = json.loads(CliRunner().invoke(main, ["plan", str(spec), "--json"]).stdout)
    assert "estimate" not in plain


def test_a_prefix_too_short_to_cache_is_not_assumed_cached(
    write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    tiny = tmp_path / "tiny.md"
    tiny.write_text("# Tiny\n\n## One\n\n### Be brief\n\nSay it once.\n", encoding="utf-8")
    from sdf_corpus.pricing.estimate import format_estimate

    corpus = load_corpus(write_spec(constitution=str(tiny), genres=["faq"]))
    estimate = estimate_cost(corpus)
    assert all(line.cache_read_tokens == 0 == line.cache_write_tokens for line in estimate.lines)
    notes = estimate.as_dict()["assumptions"]
    assert not any(note.startswith("cached prefix") for note in notes)
    assert any("no prompt caching for faq" in note and "4,000" in note for note in notes)
    assert "assumes cached prefix" not in format_estimate(estimate)
    full = estimate_cost(load_corpus(write_spec(genres=["faq"])))
    assert any(note.startswith("cached prefix") for note in full.as_dict()["assumptions"])
