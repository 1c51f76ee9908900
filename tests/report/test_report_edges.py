"""Reports on runs that do not fit the mould: a clean-only run of a user's own text, and a
run whose budget was raised but whose new jobs were never generated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fakeprovider.server import FakeProvider
from fakeprovider.text import prose
from report.conftest import DUMMY_KEY, build_run, responder
from sdf_corpus.cli import main
from sdf_corpus.pipeline import open_ledger
from sdf_corpus.plan.rounds import sync_plan
from sdf_corpus.sampling import describe_error as error_label
from sdf_corpus.spec.load import load_corpus


def _clean_only(tmp_path: Path, n: int) -> tuple[Path, str]:
    src = tmp_path / "mine.jsonl"
    src.write_text(
        "".join(json.dumps({"text": prose(f"user {i}", 220)}) + "\n" for i in range(n)),
        encoding="utf-8",
    )
    run = tmp_path / "run"
    cleaned = CliRunner().invoke(main, ["clean", str(src), "--out", str(run), "--no-progress"])
    assert cleaned.exit_code == 0, cleaned.output
    result = CliRunner().invoke(main, ["report", str(run)])
    assert result.exit_code == 0, result.output
    return run, result.stdout


@pytest.mark.parametrize("n", [1, 5])
def test_clean_only_run_reads_correctly(tmp_path: Path, n: int) -> None:
    run, out = _clean_only(tmp_path, n)
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["by_genre"] == {} and manifest["by_principle"] == {}
    assert manifest["totals"]["documents"] == n
    assert "-0.00" not in out and "(none)" not in out
    assert "AI names: none recorded" in out
    assert "coverage: not reported" in out
    noun = "document" if n == 1 else "documents"
    assert f"corpus: {n} {noun}," in out
    assert "1 docs" not in out and "1 documents" not in out
    data = json.loads((run / "report.json").read_text())
    assert data["names"]["ai_names"]["distinct"] == 0
    assert data["names"]["ai_names"]["flagged"] == []
    assert data["names"]["ai_names"]["entropy_bits"] == 0.0
    assert data["coverage"]["reported"] is False
    page = (run / "report.html").read_text()
    assert "(none)" not in page and "-0.00" not in page
    assert "Not reported: the documents carry no genre or principle" in page


def test_interrupted_budget_raise_says_jobs_are_pending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", DUMMY_KEY)
    provider = FakeProvider(responder=responder).start()
    try:
        run = build_run(tmp_path, provider, tokens=6000, genres=("blog_post",))
    finally:
        provider.stop()
    before = CliRunner().invoke(main, ["report", str(run)]).stdout
    assert "pending" not in before
    # A raised budget is planned into the ledger first; stop there, as Ctrl-C would.
    raised = load_corpus(tmp_path / "spec.yaml", ["budget.tokens=12000"])
    ledger = open_ledger(raised)
    try:
        sync_plan(raised, ledger)
        pending = ledger.totals().pending
    finally:
        ledger.close()
    assert pending > 0
    after = CliRunner().invoke(main, ["report", str(run)])
    assert after.exit_code == 0
    noun = "job" if pending == 1 else "jobs"
    assert f"{pending} {noun} planned but not generated yet" in after.stdout
    assert "re-run `sdf-corpus build`" in after.stdout
    data = json.loads((run / "report.json").read_text())
    assert data["mix"]["pending_jobs"] == pending
    assert data["mix"]["target_tokens"] == 12000


@pytest.mark.parametrize(
    ("error_class", "words"),
    [
        ("_BatchRetry", "batch request errored, expired or canceled"),
        ("RetryableError", "retryable provider error"),
        ("SomeNewTimeoutError", "some new timeout error"),
        (None, "unknown error"),
    ],
)
def test_summary_names_failures_in_words(error_class: str | None, words: str) -> None:
    label = error_label(error_class)
    assert label == words or label.startswith(words)
    assert "_" not in label and not any(c.isupper() for c in label[:1])
