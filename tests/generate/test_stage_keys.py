"""Stage outputs keyed by what shapes them: ablations and model changes re-run only
the stages they change, and an old ledger's work is found again after the upgrade."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from fakeprovider.server import FakeProvider
from runfiles import shard_rows
from sdf_corpus.cli import main
from sdf_corpus.plan.chains import _legacy_fingerprints, legacy_id
from sdf_corpus.plan.job import Job
from sdf_corpus.spec.load import load_corpus

from .conftest import ledger_rows

GENRES = ["good_mental_health_story", "blog_post"]
STORY = "good_mental_health_story"


def _run(command: str, spec: Path, *sets: str) -> int:
    args = [command, str(spec), "--no-progress"]
    for item in sets:
        args += ["--set", item]
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (0, 6), result.stderr
    return result.exit_code


def _attempts(run: Path) -> Counter[str]:
    return Counter(dict(ledger_rows(run, "SELECT stage, COUNT(*) FROM attempts GROUP BY stage")))


def _spec(fake_spec: Callable[..., Path]) -> Path:
    # Each job its own idea stage: these tests key every stage of a job's own chain (a
    # pool idea's key is tested in tests/ideas/test_fill.py).
    return fake_spec(genres=GENRES, budget={"tokens": 8000, "max_rounds": 1}, ideas={"pool": False})


def test_rewrite_off_reuses_the_drafts_and_sends_nothing_before(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    spec = _spec(fake_spec)
    _run("build", spec)
    run = spec.parent / "run"
    drafts = dict(
        ledger_rows(
            run,
            "SELECT o.job_id, o.text FROM outputs o JOIN jobs j ON j.id = o.job_id "
            f"WHERE o.stage='draft' AND j.genre='{STORY}'",
        )
    )
    ids_before = {r[0] for r in ledger_rows(run, "SELECT id FROM jobs")}
    before = _attempts(run)
    fake_provider.reset()
    _run("build", spec, f"genre_overrides.{STORY}.rewrite=false")
    assert fake_provider.count == 0  # not one idea, outline or draft (nor anything) sent
    assert _attempts(run) == before
    assert {r[0] for r in ledger_rows(run, "SELECT id FROM jobs")} == ids_before
    stories = [r for r in shard_rows(run) if r["genre"] == STORY]
    assert stories
    for row in stories:
        assert row["text"] == drafts[row["id"]].strip()
        assert [s["stage"] for s in row["stage_models"]] == ["idea", "outline", "draft"]
    report = json.loads((run / "report.json").read_text())
    query = f"SELECT COUNT(*) FROM jobs WHERE genre='{STORY}' AND status='done'"
    done_stories = ledger_rows(run, query)[0][0]
    assert 0 < done_stories <= len(drafts)
    assert report["spend"]["reused_chains"] == [
        # the finished stories: the budget loop finishes only the jobs it needs, so a
        # wave's job whose drafts are in the ledger may stay pending (and cost nothing)
        {"genre": STORY, "left_out": "rewrite", "documents": done_stories}
    ]
    # And back: the rewrite's answers are found again, nothing sent.
    _run("build", spec)
    assert fake_provider.count == 0


def test_a_new_rewrite_model_resends_only_rewrites(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    spec = _spec(fake_spec)
    _run("generate", spec)
    run = spec.parent / "run"
    before = _attempts(run)
    jobs = ledger_rows(run, "SELECT COUNT(*) FROM jobs WHERE status='done'")[0][0]
    fake_provider.reset()
    _run("generate", spec, "backend.stages.rewrite.model=claude-sonnet-4-5")
    after = _attempts(run)
    assert after - before == Counter({"rewrite": jobs})
    assert {r["body"]["model"] for r in fake_provider.requests} == {"claude-sonnet-4-5"}
    # Changing it back costs nothing: the first rewrites come back from history.
    fake_provider.reset()
    _run("generate", spec)
    assert fake_provider.count == 0
    models = ledger_rows(run, "SELECT DISTINCT model FROM outputs WHERE stage='rewrite'")
    assert models == [("claude-haiku-4-5",)]


def _downgrade_to_v1(corpus_spec: Path, run: Path) -> dict[str, str]:
    """Turn a ledger into what sdf-corpus wrote before stage keys: legacy job ids,
    no key columns, no history, user_version 1. Returns new id -> legacy id."""
    corpus = load_corpus(corpus_spec)
    fingerprints = _legacy_fingerprints(corpus)
    db = sqlite3.connect(run / "ledger.sqlite")
    try:
        mapping = {}
        for (payload,) in db.execute("SELECT payload FROM jobs").fetchall():
            job = Job.from_json(payload)
            old = legacy_id(job, fingerprints)
            mapping[job.id] = old
            for table, column in (("jobs", "id"), ("outputs", "job_id"), ("attempts", "job_id")):
                db.execute(f"UPDATE {table} SET {column}=? WHERE {column}=?", (old, job.id))
        db.execute("ALTER TABLE outputs DROP COLUMN key")
        db.execute("ALTER TABLE batch_requests DROP COLUMN key")
        db.execute("ALTER TABLE batches DROP COLUMN provider")
        db.execute("ALTER TABLE batches DROP COLUMN model")
        db.execute("DROP TABLE stage_history")
        db.execute("DELETE FROM meta WHERE key LIKE 'chain:%'")
        db.execute("PRAGMA user_version=1")
        db.commit()
    finally:
        db.close()
    return mapping


def test_an_old_ledger_resumes_and_its_outputs_keep_serving(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    spec = _spec(fake_spec)
    _run("generate", spec)
    run = spec.parent / "run"
    outputs = ledger_rows(run, "SELECT job_id, stage, text FROM outputs ORDER BY 1, 2")
    mapping = _downgrade_to_v1(spec, run)
    assert any(old != new for new, old in mapping.items())
    fake_provider.reset()
    _run("generate", spec)
    assert fake_provider.count == 0  # the old answers were found under their new ids
    assert ledger_rows(run, "PRAGMA user_version")[0][0] >= 2
    assert ledger_rows(run, "SELECT job_id, stage, text FROM outputs ORDER BY 1, 2") == outputs
    assert ledger_rows(run, "SELECT COUNT(*) FROM outputs WHERE key IS NULL") == [(0,)]
    # Keyed now: a new rewrite model re-sends the rewrites only.
    _run("generate", spec, "backend.stages.rewrite.model=claude-sonnet-4-5")
    assert {r["body"]["model"] for r in fake_provider.requests} == {"claude-sonnet-4-5"}


@pytest.mark.parametrize("sets", [["budget.tokens=8000"], ["backend.stages.idea.model=x-1"]])
def test_job_ids_ignore_the_stage_models(fake_spec: Callable[..., Path], sets: list[str]) -> None:
    from sdf_corpus.plan.planner import iter_jobs

    spec = _spec(fake_spec)
    a = [j.id for j in iter_jobs(load_corpus(spec), {STORY: 5})]
    b = [j.id for j in iter_jobs(load_corpus(spec, sets), {STORY: 5})]
    assert a == b
