"""The generation loop's shared parts: the result type, the one cost guard, the stage walk."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from pathlib import Path

import pytest

from sdf_corpus.cli._common import raise_if_stopped
from sdf_corpus.errors import BudgetError, SdfError
from sdf_corpus.generate.loop import GenerateResult, StageWalk, Stopped, combine
from sdf_corpus.generate.spend import CostGuard, worst_case_cost
from sdf_corpus.plan.planner import iter_jobs
from sdf_corpus.pricing.prices import ModelPrice, cost_usd, lookup_price
from sdf_corpus.sampling import Request
from sdf_corpus.spec.load import load_corpus
from sdf_corpus.store import StageOutput

# What the CLI does with each way a generation run can return: exit code, or None.
CLI_EXITS: dict[str, int | None] = {"complete": None, "max_cost": 3, "ambiguous_create": 4}


def test_stopped_lists_every_value_and_the_cli_maps_each() -> None:
    values = set(typing.get_args(Stopped))
    assert values == set(CLI_EXITS)
    hints = typing.get_type_hints(GenerateResult)
    assert hints["stopped"] == Stopped
    for value in values:
        expected = CLI_EXITS[value]
        if expected is None:
            assert raise_if_stopped(value) is None
            continue
        with pytest.raises(SdfError) as stop:
            raise_if_stopped(value)
        assert stop.value.exit_code == expected, value


def test_result_is_frozen_and_workers_combine() -> None:
    one = GenerateResult(jobs_done=2, jobs_failed=1, requests=7, errors={"RetryableError": 2})
    two = GenerateResult(jobs_done=3, requests=9, stopped="max_cost", errors={"RetryableError": 1})
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.stopped = "max_cost"  # type: ignore[misc]
    both = combine([one, two], spent_usd=1.5)
    assert (both.jobs_done, both.jobs_failed, both.requests) == (5, 1, 16)
    assert both.stopped == "max_cost" and both.spent_usd == 1.5
    assert dict(both.errors) == {"RetryableError": 3}
    assert combine([one, one], 0.0).stopped == "complete"


PRICE = ModelPrice(input=1.0, output=5.0, cache_read=0.1, cache_write=1.25)


@pytest.mark.parametrize("prefix_chars", [0, 300, 12_000])
def test_one_worst_case_bounds_any_answer_either_way(prefix_chars: int) -> None:
    request = Request(
        prompt="p" * 900,
        system="s" * 150,
        prefill="Dear",
        cache_prefix="c" * prefix_chars,
        max_tokens=700,
    )
    plain_tokens = (900 + 150 + 4) // 3 + 1
    prefix_tokens = prefix_chars // 3 + 1 if prefix_chars else 0
    for batch in (False, True):
        worst = worst_case_cost(PRICE, request, batch=batch)
        # The prefix written to the cache, or sent as plain input: both within the bound.
        as_cache_write = cost_usd(PRICE, plain_tokens, 700, 0, prefix_tokens, batch=batch)
        as_input = cost_usd(PRICE, plain_tokens + prefix_tokens, 700, batch=batch)
        assert worst == pytest.approx(max(as_cache_write, as_input))
        assert CostGuard(None, 0.0, PRICE, batch=batch).worst_case(request) == worst
    assert worst_case_cost(PRICE, request, batch=True) == pytest.approx(
        worst_case_cost(PRICE, request) / 2
    )
    assert worst_case_cost(None, request) == 0.0


def test_cost_guard_refuses_what_could_cross_and_releases_on_settle() -> None:
    price = lookup_price("claude-haiku-4-5")
    request = Request(prompt="x" * 3000, max_tokens=1000)
    one = worst_case_cost(price, request)
    guard = CostGuard(limit=0.5 + 2.5 * one, spent=0.5, price=price)
    first, second = guard.reserve(request), guard.reserve(request)
    assert first == second == pytest.approx(one)
    with pytest.raises(BudgetError, match="--max-cost"):
        guard.reserve(request)
    guard.settle(first, 0.25 * one)
    assert guard.spent == pytest.approx(0.5 + 0.25 * one)
    guard.reserve(request)  # the settled request's hold is free again
    assert not guard.room_for(one)
    assert CostGuard(None, 1e9, price).room_for(1e9)


def test_stage_walk_resumes_after_committed_stages(write_spec: Callable[..., Path]) -> None:
    corpus = load_corpus(write_spec(genres=["blog_post"]))
    job = next(iter(iter_jobs(corpus, {"blog_post": 1})))
    fresh = StageWalk(corpus, job, {})
    names = [s.name for s in fresh.stages]
    assert len(names) >= 2
    first = fresh.next_stage()
    assert first is not None and first.name == names[0] and not fresh.is_final(first)
    assert fresh.request(first).custom_id == f"{job.id}-{names[0]}"

    # An output counts under the key of the request it answered (chain.stage_key) ...
    key = fresh.next_key
    stale = {names[0]: StageOutput(names[0], "old", "end", "m", "anthropic", 0.0, "other-key")}
    again = StageWalk(corpus, job, stale).next_stage()  # ... a stale one is asked again
    assert again is not None and again.name == names[0]
    done = {
        names[0]: StageOutput(names[0], "An idea about candour.", "end", "m", "anthropic", 0.0, key)
    }
    resumed = StageWalk(corpus, job, done)
    second = resumed.next_stage()
    assert second is not None and second.name == names[1]
    assert resumed.context["stages"][names[0]] == "An idea about candour."
    while (stage := resumed.next_stage()) is not None:
        last = stage
        resumed.advance(stage, f"output of {stage.name}")
    assert resumed.is_final(last) and last.name == names[-1]
    assert resumed.next_stage() is None
