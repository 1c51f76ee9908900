"""The judge's outcome is honest: a judge that cannot judge fails loudly with its spend
recorded, empty means read n/a, summaries are sentences, and turning the judge off
on a judged run says what it undoes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_judge_build import JUDGE_MARK, ScriptedJudge

from fakeprovider.backend import anthropic_backend
from fakeprovider.server import FakeProvider
from fakeprovider.text import idea_list, realistic
from runfiles import ledger_rows
from sdf_corpus.cli import main
from sdf_corpus.judge.run import GIVE_UP_AFTER
from sdf_corpus.report.judge import judge_lines


def never_parses(prompt: str, body: dict[str, Any]) -> str:
    if JUDGE_MARK in prompt:
        return "What a thoughtful piece. I would give it high marks overall."
    if "numbered list" in prompt.lower():
        return idea_list(prompt, 5)
    return realistic(prompt, int(body.get("max_tokens", 1000) * 0.45))


@pytest.fixture
def spec_for(
    write_spec: Callable[..., Path], fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Path]:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-judge")
    backend = anthropic_backend(fake_provider.url, retry_base_delay=0.01, retry_max_delay=0.1)

    def make(tokens: int = 6000, **judge: Any) -> Path:
        return write_spec(
            backend=backend,
            budget={"tokens": tokens, "max_rounds": 1},
            judge={"enabled": True, "min_scores": {"reasoning": 3}, **judge},
        )

    return make


def test_a_judge_whose_answers_never_parse_exits_7_with_its_spend_recorded(
    spec_for: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    fake_provider.responder = never_parses
    spec = spec_for(tokens=24000)
    result = CliRunner().invoke(main, ["build", str(spec), "--no-progress"])
    assert result.exit_code == 7, result.output
    line = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert len(line) == 1 and "scored only 0 of" in line[0] and "min_judged_share" in line[0]
    run = spec.parent / "run"
    ((n, cost),) = ledger_rows(
        run, "SELECT COUNT(*), SUM(cost_usd) FROM attempts WHERE stage='judge'"
    )
    assert n > 0 and cost > 0  # paid for, and recorded
    # it gave up once nothing had parsed, instead of paying for every document
    documents = json.loads((run / "manifest.json").read_text())["totals"]["documents"]
    assert documents > GIVE_UP_AFTER + 4
    assert n <= (GIVE_UP_AFTER + 4) * 3  # (documents given up on + in flight) x parse_attempts
    # the `judge` command says the same: it never re-asks an unjudged document, and
    # gives up on the untouched ones as soon
    before = fake_provider.count
    again = CliRunner().invoke(main, ["judge", str(spec), "--no-progress"])
    assert again.exit_code == 7, again.output
    assert fake_provider.count - before <= (GIVE_UP_AFTER + 4) * 3


def test_summary_means_over_nothing_read_n_a_in_sentences() -> None:
    section = {
        "status": {"unjudged": 21},
        "criteria": ["reasoning", "fidelity"],
        "by_criterion": {
            "reasoning": {"per_genre": {}, "worst": []},
            "fidelity": {"per_genre": {}, "worst": []},
        },
        "explicit_reasoning_share": None,
    }
    (line,) = judge_lines(section)
    assert "reasoning n/a" in line and "fidelity n/a" in line and "0.00" not in line
    assert "0 of 21 documents judged" in line and "{" not in line


def test_turning_the_judge_off_on_a_judged_run_says_what_it_undoes(
    spec_for: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    fake_provider.responder = ScriptedJudge()
    spec = spec_for(min_judged_share=0.3)
    judged = CliRunner().invoke(main, ["build", str(spec), "--no-progress"])
    assert judged.exit_code in (0, 6), judged.output
    run = spec.parent / "run"
    dropped = sum(json.loads((run / "manifest.json").read_text())["judge"]["dropped"].values())
    off = CliRunner().invoke(
        main, ["build", str(spec), "--no-progress", "--set", "judge.enabled=false"]
    )
    assert "the judge is off" in off.stdout
    assert f"the {dropped} documents it had dropped are back" in off.stdout
    assert "judge" not in json.loads((run / "manifest.json").read_text())
