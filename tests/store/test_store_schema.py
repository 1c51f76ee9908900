"""The store's schema versions: an old run's ledger opens and is migrated in place,
a newer one is refused with one line, and no module but the store speaks SQL."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from fakeprovider.server import FakeProvider
from runfiles import stub_job
from sdf_corpus.cli import main
from sdf_corpus.errors import InputError
from sdf_corpus.sampling import Completion
from sdf_corpus.store import LATEST, BatchBook, JudgeStore, Store, read_meta

SRC = Path(__file__).resolve().parents[2] / "src" / "sdf_corpus"

# The ledger exactly as sdf-corpus wrote it before the store kept a version
# (generate/ledger.py and judge/store.py of that release), user_version 0.
_UNVERSIONED_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rounds (
    round INTEGER PRIMARY KEY, counts TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, idx INTEGER NOT NULL, round INTEGER NOT NULL, genre TEXT NOT NULL,
    principle_id TEXT NOT NULL, ai_id TEXT NOT NULL, payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending', active INTEGER NOT NULL DEFAULT 1,
    error TEXT, updated_at REAL);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (active, status, idx);
CREATE TABLE IF NOT EXISTS outputs (
    job_id TEXT NOT NULL, stage TEXT NOT NULL, text TEXT NOT NULL, stop_reason TEXT NOT NULL,
    input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL, cache_write_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL, model TEXT NOT NULL, backend TEXT NOT NULL, created_at REAL NOT NULL,
    PRIMARY KEY (job_id, stage));
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL, stage TEXT NOT NULL,
    started_at REAL NOT NULL, finished_at REAL NOT NULL, outcome TEXT NOT NULL,
    error_class TEXT, error_message TEXT, status INTEGER,
    input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens INTEGER NOT NULL DEFAULT 0, cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0, model TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS batches (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE, status TEXT NOT NULL,
    requests INTEGER NOT NULL, bytes INTEGER NOT NULL, worst_cost_usd REAL NOT NULL,
    created_at REAL NOT NULL, submitted_at REAL, ended_at REAL, collected_at REAL);
CREATE TABLE IF NOT EXISTS batch_requests (
    custom_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, job_id TEXT NOT NULL, stage TEXT NOT NULL,
    attempt INTEGER NOT NULL, prefill TEXT NOT NULL DEFAULT '', result TEXT, error TEXT);
CREATE INDEX IF NOT EXISTS batch_requests_seq ON batch_requests (seq, result);
CREATE INDEX IF NOT EXISTS batch_requests_job ON batch_requests (job_id, result);
"""
_JUDGE_SCHEMA = """
CREATE TABLE IF NOT EXISTS judgements (
    doc_id TEXT NOT NULL, rubric TEXT NOT NULL, status TEXT NOT NULL,
    scores TEXT, justifications TEXT, error TEXT, model TEXT NOT NULL,
    created_at REAL NOT NULL, PRIMARY KEY (doc_id, rubric));
"""


def _unversioned_ledger(path: Path, *, judged: bool) -> None:
    """A ledger with one done job (two stages, two paid attempts and a retry), one
    pending job, a collected batch and, if `judged`, a judgement."""
    db = sqlite3.connect(path)
    db.executescript(_UNVERSIONED_SCHEMA + (_JUDGE_SCHEMA if judged else ""))
    done, pending = stub_job(0), stub_job(1)
    db.execute("INSERT INTO meta VALUES ('targets', '{\"blog_post\": 900}')")
    db.execute("INSERT INTO rounds VALUES (0, '{\"blog_post\": 2}', 1.0)")
    for job, status in ((done, "done"), (pending, "pending")):
        db.execute(
            "INSERT INTO jobs (id, idx, round, genre, principle_id, ai_id, payload, status) "
            "VALUES (?,?,?,?,?,?,?,?)",
            (job.id, job.index, 0, job.genre, job.principle_id, job.ai_id, job.to_json(), status),
        )
    for i, stage in enumerate(("idea", "draft")):
        db.execute(
            "INSERT INTO outputs VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (done.id, stage, f"{stage} text", "end_turn", 10, 20, 0, 0, 0.25, "m", "anthropic", i),
        )
        db.execute(
            "INSERT INTO attempts (job_id, stage, started_at, finished_at, outcome, "
            "input_tokens, output_tokens, cost_usd, model) VALUES (?,?,?,?,?,?,?,?,?)",
            (done.id, stage, i, i + 0.5, "ok", 10, 20, 0.25, "m"),
        )
    db.execute(
        "INSERT INTO attempts (job_id, stage, started_at, finished_at, outcome, error_class, "
        "error_message, status) VALUES ('job1', 'idea', 3, 4, 'retry', 'RateLimitError', "
        "'429 slow down', 429)"
    )
    db.execute(
        "INSERT INTO batches (id, status, requests, bytes, worst_cost_usd, created_at) "
        "VALUES ('msgbatch_1', 'collected', 1, 100, 0.5, 2.0)"
    )
    db.execute(
        "INSERT INTO batch_requests VALUES ('job0-idea-1', 1, 'job0', 'idea', 1, '', "
        "'succeeded', NULL)"
    )
    if judged:
        db.execute(
            "INSERT INTO judgements VALUES ('doc0', 'rubric1', 'judged', '{\"reasoning\": 4}', "
            "'{\"reasoning\": \"explains why\"}', NULL, 'judge-model', 5.0)"
        )
    db.commit()
    db.close()


@pytest.mark.parametrize("judged", [True, False])
def test_an_unversioned_ledger_is_migrated_in_place_and_reads_back(
    tmp_path: Path, judged: bool
) -> None:
    path = tmp_path / "ledger.sqlite"
    _unversioned_ledger(path, judged=judged)
    store = Store(path)
    try:
        assert store.rounds() == [(0, {"blog_post": 2})]
        assert store.get_meta("targets") == '{"blog_post": 900}'
        [(job, outputs)] = list(store.done_jobs())
        assert job == stub_job(0) and sorted(outputs) == ["draft", "idea"]
        assert outputs["draft"].text == "draft text"
        assert [j.id for j in store.pending_jobs()] == ["job1"]
        t = store.totals()
        assert (t.jobs, t.done, t.pending, t.requests) == (2, 1, 1, 3)
        assert (t.input_tokens, t.output_tokens, t.cost_usd) == (20, 40, 0.5)
        assert store.error_classes() == [("RateLimitError", 1)]
        book = BatchBook(store)
        assert [b.id for b in book.batches("collected")] == ["msgbatch_1"]
        assert book.attempts("job0", "idea") == 1
        judge = JudgeStore(store, "rubric1")
        if judged:
            got = judge.get("doc0")
            assert got is not None and got["scores"] == {"reasoning": 4}
        else:
            assert judge.get("doc0") is None  # the table a judged run adds is there now
        # ... and the migrated ledger takes new work.
        done = Completion(text="t", stop_reason="end_turn", input_tokens=1, output_tokens=2,
                          cost_usd=0.5, model="m")  # fmt: skip
        store.record_stage(stub_job(1), "idea", done, "anthropic", 6.0, final=True)
        assert store.totals().done == 2
    finally:
        store.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == LATEST
    db.close()


def test_a_readonly_open_of_an_old_ledger_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    _unversioned_ledger(path, judged=False)
    before = path.read_bytes()
    assert read_meta(path) == {"targets": {"blog_post": 900}}
    assert path.read_bytes() == before


def _newer(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    _unversioned_ledger(path, judged=True)
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={LATEST + 1}")
    db.close()


def test_a_ledger_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    _newer(path)
    for readonly in (False, True):
        with pytest.raises(InputError, match="upgrade sdf-corpus") as caught:
            Store(path, readonly=readonly)
        assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_generate_on_a_newer_ledger_exits_2_in_one_line_and_pays_nothing(
    write_spec: Callable[..., Path],
    fake_provider: FakeProvider,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-DUMMY-KEY-0123456789")
    backend = {"provider": "anthropic", "model": "claude-haiku-4-5", "api_base": fake_provider.url}
    spec = write_spec(backend=backend, budget={"tokens": 3000})
    ledger = tmp_path / "run" / "ledger.sqlite"
    shard = tmp_path / "elsewhere" / "ledger.shard-0-of-2.sqlite"
    _newer(ledger)
    _newer(shard)
    before = ledger.read_bytes(), shard.read_bytes()
    for args in (
        ["generate", str(spec), "--no-progress"],
        ["build", str(spec), "--no-progress"],
        ["merge", str(spec), str(shard)],
    ):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.count("\n") == 1 and "upgrade sdf-corpus" in result.stderr
    assert fake_provider.count == 0
    assert (ledger.read_bytes(), shard.read_bytes()) == before


def test_a_sqlite_file_that_is_no_ledger_is_refused_read_only(
    write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    path = tmp_path / "other.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (text TEXT)")
    db.close()
    before = path.read_bytes()
    with pytest.raises(InputError, match="tables missing: attempts, jobs, meta") as caught:
        Store(path, readonly=True)
    assert str(path) in str(caught.value)
    result = CliRunner().invoke(main, ["merge", str(write_spec()), str(path)])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "tables missing" in result.stderr and str(path) in result.stderr
    assert path.read_bytes() == before and not (tmp_path / "run" / "ledger.sqlite").exists()


def test_only_the_store_speaks_sql() -> None:
    """No module outside sdf_corpus/store opens a connection or writes SQL."""
    pattern = re.compile(r"sqlite3|execute\(|\.db\b")
    offenders = [
        f"{path.relative_to(SRC)}:{n}"
        for path in SRC.rglob("*.py")
        if "store" not in path.relative_to(SRC).parts[:1]
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
