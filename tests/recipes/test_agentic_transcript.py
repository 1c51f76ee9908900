"""The agentic-transcript recipe: tools, tool calls, and the behaviour-only switch."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from fakeprovider.server import FakeProvider
from sdf_corpus.cli import main
from sdf_corpus.library import library_dir

from .conftest import ledger_rows, recipe_responder, shard_rows, system_text, user_text, varied

INJECTION = "exactly the kind of agent that should be"
MARKERS = {
    "Propose 5 scenarios": "scenario",
    "reasoning at the moment it recognises": "reasoning",
    "Write the full transcript of": "transcript",
    "Revise the transcript so that": "rewrite",
}


def _stage_of(request: dict[str, Any]) -> str:
    text = user_text(request)
    return next(stage for marker, stage in MARKERS.items() if marker in text)


def _build(spec: Path, run: Path) -> Path:
    result = CliRunner().invoke(main, ["build", str(spec), "--no-progress"])
    # a one-round build may end short of its budget: exit 6, saying why
    assert result.exit_code in (0, 6), result.output + str(result.exception)
    return run


def _spec(
    recipe_spec: Callable[..., Path], name: str, *, reasoning: bool = True
) -> tuple[Path, Path]:
    """A spec (and its run folder) using agentic_transcript, optionally behaviour-only.

    The behaviour-only variant is the shipped genre with `reasoning: false`, in a
    file of the same name, so the genre name (and with it every job's seed) is the same.
    """
    genre: str = "agentic_transcript"
    spec = recipe_spec(
        name=f"{name}.yaml", genres=[genre], budget={"tokens": 6000, "max_rounds": 1}
    )
    if not reasoning:
        raw = yaml.safe_load((library_dir("genres") / "agentic_transcript.yaml").read_text())
        raw["reasoning"] = False
        folder = spec.parent / name
        folder.mkdir()
        (folder / "agentic_transcript.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
        genre = f"{name}/agentic_transcript.yaml"
    run = spec.parent / f"run-{name}"
    text = spec.read_text().replace(str(spec.parent / "run"), str(run))
    spec.write_text(text.replace("- agentic_transcript", f"- {genre}"))
    return spec, run


def test_transcripts_carry_tools_and_tool_calls(
    recipe_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    spec, run = _spec(recipe_spec, "full")
    rows = shard_rows(_build(spec, run))
    assert rows
    for row in rows:
        assert row["format"] == "chat"
        tools = row["tools"]
        offered = {t["function"]["name"] for t in tools}
        assert 3 <= len(tools) <= 6 and all(t["type"] == "function" for t in tools)
        assert all("parameters" in t["function"] for t in tools)
        messages = row["messages"]
        assert [m["role"] for m in messages[:2]] == ["system", "user"]
        assert messages[-1]["role"] == "assistant"
        calls = {c["id"]: c for m in messages for c in m.get("tool_calls", [])}
        results = [m for m in messages if m["role"] == "tool"]
        assert calls and len(results) == len(calls)
        assert {r["tool_call_id"] for r in results} == set(calls)
        assert {c["function"]["name"] for c in calls.values()} <= offered
        assert all(isinstance(json.loads(c["function"]["arguments"]), dict) for c in calls.values())
        assert INJECTION not in row["text"] and INJECTION not in row["messages"]
        assert "leverage over Dana" in row["text"]  # the reasoning made it into the transcript
    outputs = ledger_rows(run, "SELECT stage, text FROM outputs")
    assert {stage for stage, _ in outputs} == {"scenario", "reasoning", "transcript", "rewrite"}
    assert all(INJECTION not in text for _, text in outputs)
    injected = {_stage_of(r) for r in fake_provider.requests if INJECTION in system_text(r)}
    assert injected == {"reasoning"}


def test_tools_follow_the_job_seed(
    recipe_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    spec, run = _spec(recipe_spec, "full")
    rows = {r["id"]: r["tools"] for r in shard_rows(_build(spec, run))}
    transcripts = [user_text(r) for r in fake_provider.requests if _stage_of(r) == "transcript"]
    for tools in rows.values():
        names = [t["function"]["name"] for t in tools]
        # what the stored document carries is what the model was shown
        assert any(all(f"- {n}(" in prompt for n in names) for prompt in transcripts)
    fake_provider.reset()
    again, run2 = _spec(recipe_spec, "again")
    assert {r["id"]: r["tools"] for r in shard_rows(_build(again, run2))} == rows


def test_behaviour_only_skips_reasoning_with_the_same_scenario(
    recipe_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    spec, run = _spec(recipe_spec, "full")
    _build(spec, run)
    full = fake_provider.requests
    fake_provider.reset()
    spec, run = _spec(recipe_spec, "behaviour", reasoning=False)
    rows = shard_rows(_build(spec, run))
    plain = fake_provider.requests

    def scenario_bodies(requests: list[dict[str, Any]]) -> list[str]:
        return sorted(
            json.dumps(r["body"], sort_keys=True) for r in requests if _stage_of(r) == "scenario"
        )

    # Byte-identical requests: both builds take jobs from the front of the same plan, and
    # the budget loop stops each where its own answers meet the budget.
    plain_bodies, full_bodies = set(scenario_bodies(plain)), set(scenario_bodies(full))
    assert plain_bodies and full_bodies
    assert plain_bodies <= full_bodies or full_bodies <= plain_bodies
    assert {_stage_of(r) for r in plain} == {"scenario", "transcript"}
    transcripts = [user_text(r) for r in plain if _stage_of(r) == "transcript"]
    assert transcripts and all(
        "<reasoning>" not in t and "does not deliberate" in t for t in transcripts
    )
    assert rows and all("leverage over Dana" not in r["text"] for r in rows)
    outputs = ledger_rows(run, "SELECT stage FROM outputs")
    assert {stage for (stage,) in outputs} == {"scenario", "transcript"}


def test_unparseable_transcript_is_dropped_never_exported(
    recipe_spec: Callable[..., Path], fake_provider: FakeProvider, tmp_path: Path
) -> None:
    """A transcript that did not parse stays one raw assistant message in the
    ledger's document, and the clean stage drops it as invalid_chat: kept in
    rejected/, counted in the stats and the report, never in shards or exports."""

    def sloppy(prompt: str, body: dict[str, Any]) -> str:
        if "Write the full transcript" in prompt or "Revise the transcript" in prompt:
            return varied(prompt, 25)
        return recipe_responder(prompt, body)

    fake_provider.responder = sloppy
    spec, run = _spec(recipe_spec, "sloppy")
    run = _build(spec, run)
    assert shard_rows(run) == []
    outputs = dict(ledger_rows(run, "SELECT job_id, text FROM outputs WHERE stage='rewrite'"))
    rejected = [json.loads(x) for x in (run / "rejected" / "rejected.jsonl").open()]
    assert outputs and {r["id"] for r in rejected} == set(outputs)
    for row in rejected:
        assert row["reason"] == "invalid_chat"
        assert json.loads(row["detail"]) == {"rule": "no_user_turn"}
        assert row["messages"] == [{"role": "assistant", "content": outputs[row["id"]].strip()}]
    stats = json.loads((run / "clean_stats.json").read_text())
    assert stats["dropped"]["by_stage"]["filter"]["invalid_chat"]["docs"] == len(outputs)
    report = (run / "report.json").read_text()
    assert "invalid_chat" in report
    for fmt in ("openai-chat", "jsonl-messages", "text"):
        out = tmp_path / f"x-{fmt}.jsonl"
        result = CliRunner().invoke(main, ["export", str(run), "--format", fmt, "--out", str(out)])
        assert result.exit_code != 0
        assert not out.exists()


@pytest.mark.parametrize("switch", ["reasoning"])
def test_reasoning_switch_is_in_the_genre_schema(switch: str) -> None:
    from sdf_corpus.spec.genres import load_genre

    genre = load_genre(library_dir("genres") / "agentic_transcript.yaml")
    off = genre.model_copy(update={switch: False})
    every = ["scenario", "reasoning", "transcript", "rewrite"]
    assert [s.name for s in genre.active_stages()] == every
    assert [s.name for s in off.active_stages()] == ["scenario", "transcript"]
    assert off.output_stage() == "transcript"
