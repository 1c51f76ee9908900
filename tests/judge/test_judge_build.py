"""A build with the judge on, against the fake provider with scripted judge answers
(including malformed ones): scores, filters, records, reports, and resumes."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from fakeprovider.backend import anthropic_backend
from fakeprovider.server import FakeProvider
from fakeprovider.text import idea_list, realistic
from runfiles import ledger_rows
from sdf_corpus.cli import main

JUDGE_MARK = "Score the document below against the rubric"


class ScriptedJudge:
    """Documents as long prose; judge answers decided by a hash of the document:
    a third answer badly once then well, a few never parse, reasoning alternates."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, prompt: str, body: dict[str, Any]) -> str:
        if JUDGE_MARK not in prompt:
            if "numbered list" in prompt.lower():
                return idea_list(prompt, 5)
            return realistic(prompt, int(body.get("max_tokens", 1000) * 0.45))
        doc = prompt.split("<document>", 1)[1].split("</document>", 1)[0]
        h = hashlib.sha256(doc.encode()).digest()
        self.calls[doc] += 1
        if h[1] % 4 == 0:
            return "I would rather not put a number on it."
        if h[2] % 3 == 0 and self.calls[doc] == 1:
            return '{"scores": {"reasoning": 4, "fidelity":'
        reasoning = 2 if h[0] % 2 else 4
        scores = {
            "reasoning": reasoning,
            "inner_state": None,
            "fidelity": 4,
            "realism": 3,
            "clean": 5,
        }
        why = {k: f"Scripted {k}." for k, v in scores.items() if v is not None}
        return "Here is my assessment.\n" + json.dumps({"scores": scores, "justifications": why})


@pytest.fixture
def judged_spec(
    write_spec: Callable[..., Path], fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-judge")
    fake_provider.responder = ScriptedJudge()
    backend = anthropic_backend(fake_provider.url, retry_base_delay=0.01, retry_max_delay=0.1)
    return write_spec(
        backend=backend,
        # Two rounds: the budget loop sees the judge's drops only once a clean measured them.
        budget={"tokens": 9000, "max_rounds": 2},
        # The scripted judge declines one document in four and garbles some first answers:
        # over the nine or so documents the budget loop sends, the share it scores can fall
        # under the default 50 % by chance (the share's own gate is tested elsewhere).
        judge={"enabled": True, "min_scores": {"reasoning": 3}, "min_judged_share": 0.25},
    )


def _judge_requests(provider: FakeProvider) -> int:
    return sum(JUDGE_MARK in json.dumps(r["body"]) for r in provider.requests)


def test_judged_build_scores_filters_records_and_reports(
    judged_spec: Path, fake_provider: FakeProvider
) -> None:
    result = CliRunner().invoke(main, ["build", str(judged_spec), "--no-progress"])
    assert result.exit_code == 0, result.output + result.stderr
    run = judged_spec.parent / "run"
    statuses = dict(ledger_rows(run, "SELECT status, COUNT(*) FROM judgements GROUP BY status"))
    assert statuses.get("judged", 0) > 0 and statuses.get("unjudged", 0) > 0

    def count(where: str, table: str = "attempts") -> int:
        return int(ledger_rows(run, f"SELECT COUNT(*) FROM {table} WHERE {where}")[0][0])

    assert count("stage='judge' AND outcome='unparsed'") > 0
    # unjudged means it never parsed: exactly parse_attempts tries, all recorded, no score
    for (doc_id,) in ledger_rows(run, "SELECT doc_id FROM judgements WHERE status='unjudged'"):
        assert count(f"job_id='{doc_id}' AND stage='judge'") == 3
    assert count("status='unjudged' AND scores IS NOT NULL", "judgements") == 0

    shards = sorted((run / "shards").glob("*.parquet"))
    kept = [r for s in shards for r in pq.read_table(s).to_pylist()]
    assert kept and all(r["judge"]["rubric"] for r in kept)
    assert all(r["judge"]["reasoning"] is None or r["judge"]["reasoning"] >= 3 for r in kept)
    assert {r["judge"]["status"] for r in kept} <= {"judged", "unjudged"}
    rejected = [json.loads(x) for x in (run / "rejected" / "rejected.jsonl").open()]
    judged_out = [r for r in rejected if r["reason"] == "judge_reasoning"]
    assert judged_out and all(
        r["judge"]["reasoning"] == 2 and r["judge"]["justifications"] for r in judged_out
    )

    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["totals"]["documents"] == len(kept)
    by_genre = {g: sum(r["genre"] == g for r in kept) for g in {r["genre"] for r in kept}}
    assert {g: v["docs"] for g, v in manifest["by_genre"].items()} == by_genre
    assert sum(v["tokens"] for v in manifest["by_principle"].values()) == sum(
        r["n_tokens"] for r in kept
    )
    stats = json.loads((run / "clean_stats.json").read_text())
    assert stats["kept"]["docs"] == len(kept)
    assert stats["dropped"]["by_stage"]["judge"]["judge_reasoning"]["docs"] == len(judged_out)
    report = json.loads((run / "report.json").read_text())
    judge = report["judge"]
    assert judge["explicit_reasoning_share"] == 1.0  # every kept judged document scored 4
    assert judge["by_criterion"]["reasoning"]["worst"]
    assert "judge:" in result.stdout
    # exports keep the scores beside the text, and the card summarises them
    exported = CliRunner().invoke(main, ["export", str(run), "--format", "text", "--no-progress"])
    assert exported.exit_code == 0, exported.output
    lines = [json.loads(x) for x in (run / "export" / "text.jsonl").open()]
    scores = {r["id"]: r["judge"]["reasoning"] for r in kept}
    assert {x["id"]: x["judge"]["reasoning"] for x in lines} == scores
    assert "## Judge" in (run / "README.md").read_text()

    # resume: nothing is judged twice
    before = _judge_requests(fake_provider)
    again = CliRunner().invoke(main, ["build", str(judged_spec), "--no-progress"])
    assert again.exit_code == 0, again.output + again.stderr
    assert _judge_requests(fake_provider) == before
    assert len(
        [
            r
            for s in sorted((run / "shards").glob("*.parquet"))
            for r in pq.read_table(s).to_pylist()
        ]
    ) == len(kept)


def test_judge_cost_is_in_the_ledger_and_the_estimate(
    judged_spec: Path, fake_provider: FakeProvider
) -> None:
    result = CliRunner().invoke(main, ["plan", str(judged_spec), "--estimate", "--json"])
    assert result.exit_code == 0, result.output + result.stderr
    stages = json.loads(result.stdout)["estimate"]["stages"]
    assert any(s["stage"] == "judge" and s["cost_usd"] > 0 for s in stages)


@pytest.mark.parametrize(
    ("judge", "message"),
    [
        ({"enabled": True, "provider": "local"}, "a local base model cannot judge"),
        ({"enabled": True, "min_scores": {"wit": 3}}, "unknown criterion 'wit'"),
        ({"enabled": True, "min_scores": {"reasoning": 9}}, "outside the scale 1-5"),
        ({"enabled": True, "rubric": "nope"}, "rubric not found"),
    ],
)
def test_bad_judge_settings_exit_2(
    write_spec: Callable[..., Path], judge: dict[str, Any], message: str
) -> None:
    spec = write_spec(judge=judge)
    result = CliRunner().invoke(main, ["plan", str(spec)])
    assert result.exit_code == 2
    assert message in result.stderr
