"""`sdf-corpus report` on a fake-provider build and on a clean-only run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from runfiles import ledger_rows
from sdf_corpus.clean.config import CleanConfig
from sdf_corpus.clean.pipeline import clean
from sdf_corpus.cli.report import report
from sdf_corpus.document import Document
from sdf_corpus.report import ScanLimits, build_report, write_report
from textsynth import TextSynth


def _ledger(run: Path, sql: str) -> tuple[object, ...]:
    return ledger_rows(run, sql)[0]


def test_report_agrees_with_manifest(built_run: Path) -> None:
    result = CliRunner().invoke(report, [str(built_run), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "corpus:" in result.output and "spend: $" in result.output
    data = json.loads((built_run / "report.json").read_text())
    manifest = json.loads((built_run / "manifest.json").read_text())
    mix = data["mix"]
    assert manifest["totals"]["documents"] > 0
    assert mix["total_docs"] == manifest["totals"]["documents"]
    assert mix["total_tokens"] == manifest["totals"]["tokens"]
    by_genre = {g["genre"]: g for g in mix["genres"]}
    for genre, counts in manifest["by_genre"].items():
        assert by_genre[genre]["docs"] == counts["docs"]
        assert by_genre[genre]["tokens"] == counts["tokens"]
    assert sum(s["docs"] for s in data["lengths"].values()) == manifest["totals"]["documents"]
    assert sum(map(sum, data["coverage"]["docs"])) == manifest["totals"]["documents"]


def test_report_agrees_with_ledger(built_run: Path) -> None:
    data = build_report(built_run)
    cost, requests, tokens_in = _ledger(
        built_run, "SELECT SUM(cost_usd), COUNT(*), SUM(input_tokens) FROM attempts"
    )
    totals = data["spend"]["totals"]
    assert totals["cost_usd"] == pytest.approx(cost)
    assert totals["requests"] == requests
    assert totals["input_tokens"] == tokens_in
    ok_cost = _ledger(built_run, "SELECT SUM(cost_usd) FROM attempts WHERE outcome='ok'")[0]
    assert sum(r["cost_usd"] for r in data["spend"]["by_stage"]) == pytest.approx(ok_cost)
    targets = json.loads(_ledger(built_run, "SELECT value FROM meta WHERE key='targets'")[0])
    assert {g["genre"]: g["target_tokens"] for g in data["mix"]["genres"]} == targets
    assert 0.0 <= data["mix"]["total_variation_distance"] <= 1.0
    n_principles = len(
        json.loads(_ledger(built_run, "SELECT value FROM meta WHERE key='principles'")[0])
    )
    assert len(data["coverage"]["principles"]) == n_principles


def test_report_drops_agree_with_clean_stats(built_run: Path) -> None:
    data = build_report(built_run)
    stats = json.loads((built_run / "clean_stats.json").read_text())
    assert data["drops"]["dropped"]["docs"] == stats["dropped"]["docs"]
    assert sum(r["docs"] for r in data["drops"]["reasons"]) == stats["dropped"]["docs"]
    assert data["drops"]["reasons"], "the fixture's responder makes some documents fail"
    for row in data["drops"]["reasons"]:
        assert row["example"] is not None and row["example"]["text"]


def test_html_is_self_contained_and_escaped(built_run: Path) -> None:
    write_report(built_run)
    page = (built_run / "report.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page)
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()
    assert page.count('src="data:image/png;base64,') >= 4
    for section in (
        "mix",
        "coverage",
        "names",
        "lengths",
        "drops",
        "spend",
        "diversity",
        "samples",
    ):
        assert f'<section id="{section}">' in page


def test_writes_are_atomic_and_leave_no_tmp(built_run: Path) -> None:
    write_report(built_run)
    assert not list(built_run.glob("*.tmp"))
    json.loads((built_run / "report.json").read_text())


def _clean_only_run(tmp_path: Path, texts: list[str]) -> Path:
    docs = [
        Document(id=f"u{i}", text=t, genre="story" if i % 2 else "essay")
        for i, t in enumerate(texts)
    ]
    run = tmp_path / "user-run"
    clean(docs, run, CleanConfig(), progress=False)
    return run


def test_clean_only_run_without_ledger(tmp_path: Path) -> None:
    texts = [TextSynth(i).document(400) for i in range(12)]
    texts[3] = "Once upon a time <script>alert(1)</script> " + texts[3]
    texts[5] = texts[4]  # an exact duplicate to drop
    run = _clean_only_run(tmp_path, texts)
    summary = write_report(run)
    assert "no ledger" in summary
    data = json.loads((run / "report.json").read_text())
    manifest = json.loads((run / "manifest.json").read_text())
    assert data["spend"] is None and data["mix"]["has_targets"] is False
    assert data["mix"]["total_variation_distance"] is None
    assert data["mix"]["total_docs"] == manifest["totals"]["documents"]
    assert data["run"]["has_ledger"] is False
    stock = {s["phrase"]: s["docs"] for s in data["diversity"]["openings"]["stock"]}
    assert stock.get("once upon a time") == 1
    page = (run / "report.html").read_text()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "No ledger" in page


def test_diversity_sample_is_bounded_and_noted(tmp_path: Path) -> None:
    run = _clean_only_run(tmp_path, [TextSynth(i).document(300) for i in range(40)])
    data = build_report(run, limits=ScanLimits(diversity_docs=10, samples_per_genre=2))
    assert 0 < data["sampling"]["diversity_docs"] <= 10
    assert all(len(docs) <= 2 for docs in data["samples"].values())
    again = build_report(run, limits=ScanLimits(diversity_docs=10, samples_per_genre=2))
    assert again["samples"] == data["samples"]  # deterministic sample


def test_report_missing_run_dir_is_a_user_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(report, [str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "no such run directory" in result.output


def test_plan_and_report_give_the_same_targets(built_run: Path) -> None:
    from sdf_corpus.cli import main

    plan = CliRunner().invoke(main, ["plan", str(built_run.parent / "spec.yaml"), "--json"])
    planned = {g: line["target_tokens"] for g, line in json.loads(plan.output)["genres"].items()}
    data = build_report(built_run)
    reported = {r["genre"]: r["target_tokens"] for r in data["mix"]["genres"]}
    assert reported == planned
