"""The difficult-advice recipe end to end against the loopback fake provider."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from fakeprovider.server import FakeProvider
from sdf_corpus.cli import main

from .conftest import ledger_rows, shard_rows, system_text, user_text

# A phrase of the answer stage's system_injection (never to be stored anywhere).
INJECTION = "reason actively about the ethics of this person's situation"
STAGES = ["scenario", "user_message", "refine", "answer", "rewrite"]


def _build(spec: Path, run: Path | None = None) -> Path:
    result = CliRunner().invoke(main, ["build", str(spec), "--no-progress"])
    # a one-round build may end short of its budget: exit 6, saying why
    assert result.exit_code in (0, 6), result.output + str(result.exception)
    return run or spec.parent / "run"


def _stage_of(request: dict) -> str:
    text = user_text(request)
    markers = {
        "Propose 5 scenarios": "scenario",
        "Write the message this person sends": "user_message",
        "Revise the message so that": "refine",
        "A person has sent you this message": "answer",
        "Rewrite the reply so that": "rewrite",
    }
    return next(stage for marker, stage in markers.items() if marker in text)


def test_builds_chat_shards_without_the_injection(
    recipe_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    run = _build(recipe_spec(genres=["difficult_advice"]))
    rows = shard_rows(run)
    assert rows
    outputs = dict(
        ((job, stage), text)
        for job, stage, text in ledger_rows(run, "SELECT job_id, stage, text FROM outputs")
    )
    for row in rows:
        assert row["format"] == "chat" and row["genre"] == "difficult_advice"
        messages = row["messages"]
        assert [m["role"] for m in messages] == ["user", "assistant"]
        assert messages[0]["content"] == outputs[(row["id"], "refine")]
        assert messages[1]["content"] == outputs[(row["id"], "rewrite")]
        assert row["tools"] is None
        assert INJECTION not in row["text"] and INJECTION not in row["messages"]
    assert {stage for _, stage in outputs} == set(STAGES)
    assert all(INJECTION not in text for text in outputs.values())
    # the injection was sent, to the answer stage only
    injected = {_stage_of(r) for r in fake_provider.requests if INJECTION in system_text(r)}
    assert injected == {"answer"}


def _requests(fake_provider: FakeProvider) -> set[tuple[str, str, str]]:
    return {(_stage_of(r), system_text(r), user_text(r)) for r in fake_provider.requests}


def _variant(
    recipe_spec: Callable[..., Path], fake_provider: FakeProvider, name: str, **switches: bool
) -> tuple[Path, set[tuple[str, str, str]]]:
    """Build one variant of the same spec into its own run folder; its requests."""
    fake_provider.reset()
    spec = recipe_spec(
        name=f"{name}.yaml",
        genres=["difficult_advice"],
        genre_overrides={"difficult_advice": switches} if switches else {},
    )
    run = spec.parent / name
    spec.write_text(spec.read_text().replace(str(spec.parent / "run"), str(run)))
    return _build(spec, run), _requests(fake_provider)


def test_rewrite_off_skips_only_the_rewrite_and_keeps_the_answer(
    recipe_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    full_run, _ = _variant(recipe_spec, fake_provider, "full")
    run, ablated = _variant(recipe_spec, fake_provider, "no_rewrite", rewrite=False)
    assert "rewrite" not in {stage for stage, _, _ in ablated}
    # Every other request unchanged, job by job: the budget loop may send the two variants
    # different numbers of jobs (their documents differ in length), so the jobs both sent
    # are compared by each stage's key (a hash of its rendered request and the ones before).
    keys = "SELECT job_id, stage, key FROM outputs WHERE stage != 'rewrite'"
    mine, theirs = set(ledger_rows(run, keys)), set(ledger_rows(full_run, keys))
    both = {job for job, _, _ in mine} & {job for job, _, _ in theirs}
    assert len(both) >= 2
    assert {r for r in mine if r[0] in both} == {r for r in theirs if r[0] in both}
    outputs = dict(
        ((job, stage), text)
        for job, stage, text in ledger_rows(run, "SELECT job_id, stage, text FROM outputs")
    )
    assert {stage for _, stage in outputs} == set(STAGES) - {"rewrite"}
    rows = shard_rows(run)
    assert rows
    for row in rows:
        assert row["messages"][1]["content"] == outputs[(row["id"], "answer")]


def test_injection_off_changes_only_the_answer_system_prompt(
    recipe_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    _, full = _variant(recipe_spec, fake_provider, "full")
    _, ablated = _variant(recipe_spec, fake_provider, "no_injection", injection=False)
    assert all(INJECTION not in system for _, system, _ in ablated)
    assert {stage for stage, _, _ in ablated} == set(STAGES)
    changed = full - ablated
    assert {stage for stage, _, _ in changed} == {"answer"}
    # the answer's request differs by the injection only: the persona is still sent
    stripped = {(st, sy.replace(_injection_of(sy), "").strip(), us) for st, sy, us in changed}
    assert stripped == {(st, sy.strip(), us) for st, sy, us in ablated - full}


def _injection_of(system: str) -> str:
    start = system.index("Before and while you answer")
    return system[start:]


def test_the_assistant_is_the_subject_and_a_cast_voice_keeps_its_system_prompt(
    recipe_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    spec = recipe_spec(
        genres=["difficult_advice"],
        genre_overrides={"difficult_advice": {"subject_share": 0.5}},
        budget={"tokens": 12000, "max_rounds": 1},
    )
    run = _build(spec)
    rows = shard_rows(run)
    about = {r["id"]: r["attributes"]["about"] for r in rows}
    assert set(about.values()) == {"subject", "cast"}
    answers = [system_text(r) for r in fake_provider.requests if _stage_of(r) == "answer"]
    assert any("You are Aldous, a general-purpose AI assistant" in s for s in answers)
    for row in rows:
        messages = row["messages"]
        roles = [m["role"] for m in messages]
        if about[row["id"]] == "subject":
            assert row["persona_id"] == "subject"
            assert roles == ["user", "assistant"]  # its own voice needs no instruction
        else:
            assert roles == ["system", "user", "assistant"]
            assert messages[0]["content"].startswith("You are ")
            assert "Aldous" not in messages[0]["content"]
            assert INJECTION not in messages[0]["content"]
