"""The run ledger: `RUN_DIR/ledger.sqlite`, the single source of truth of a run.

WAL mode; every finished stage is committed in its own transaction together
with the attempt that produced it, so a kill at any moment loses at most the
requests in flight, and a re-run never asks for a committed stage again.

Tables
    meta      key/value (spec hash, created_at)
    rounds    one row per planning round: the job counts it asked for, so the
              same jobs can be re-derived from the spec on resume
    jobs      one row per planned job: payload (Job JSON), status
              pending|done|failed, active (1 if in the current plan), last error
    outputs   one row per finished stage: text, stop reason, usage, cost
    attempts  every request made: outcome ok|retry|failed, error class and
              message (never a key), usage and cost
    batches   one row per Message Batch we meant to create (`generate --batch`):
              provider id (NULL until create returned), status
              creating|in_progress|ended|collected|orphaned, size, worst-case cost
    batch_requests
              one row per request in a batch: deterministic custom id (job id,
              stage, attempt), the batch's local seq, and the result once read
              (succeeded|errored|expired|canceled|missing|lost)
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sdf_corpus.generate.backends.base import Completion, describe_error
from sdf_corpus.plan.job import Job

__all__ = ["Ledger", "StageOutput", "Totals"]

_SCHEMA = """
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


@dataclass(frozen=True, slots=True)
class StageOutput:
    stage: str
    text: str
    stop_reason: str
    model: str
    backend: str
    created_at: float


@dataclass(frozen=True, slots=True)
class Totals:
    jobs: int
    done: int
    failed: int
    pending: int
    requests: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: float


class Ledger:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # durable across process kills in WAL mode
        self.db.execute("PRAGMA busy_timeout=30000")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    # -- meta and rounds ---------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def rounds(self) -> list[tuple[int, dict[str, int]]]:
        """(round, jobs per genre) in order; where each round's jobs start is derived."""
        rows = self.db.execute("SELECT round, counts FROM rounds ORDER BY round")
        return [(r, json.loads(c)) for r, c in rows]

    def add_round(self, round_no: int, counts: dict[str, int]) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO rounds VALUES (?, ?, ?)",
            (round_no, json.dumps(counts), time.time()),
        )

    # -- jobs ---------------------------------------------------------------------------
    def sync_jobs(self, jobs: Iterable[Job], batch: int = 5000) -> int:
        """Make exactly these jobs the active plan; keep others' outputs but mark them inactive."""
        cur = self.db.cursor()
        cur.execute("BEGIN")
        cur.execute("UPDATE jobs SET active=0")
        n = 0
        chunk: list[tuple[Any, ...]] = []
        for job in jobs:
            chunk.append(
                (
                    job.id,
                    job.index,
                    job.round,
                    job.genre,
                    job.principle_id,
                    job.ai_id,
                    job.to_json(),
                )
            )
            if len(chunk) >= batch:
                n += self._upsert(cur, chunk)
                chunk = []
        n += self._upsert(cur, chunk)
        cur.execute("COMMIT")
        return n

    @staticmethod
    def _upsert(cur: sqlite3.Cursor, rows: list[tuple[Any, ...]]) -> int:
        cur.executemany(
            "INSERT INTO jobs (id, idx, round, genre, principle_id, ai_id, payload) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET active=1, idx=excluded.idx",
            rows,
        )
        return len(rows)

    def reset_failed(self) -> int:
        cur = self.db.execute(
            "UPDATE jobs SET status='pending', error=NULL WHERE status='failed' AND active=1"
        )
        return cur.rowcount

    def pending_jobs(self, *, unless: str = "", page: int = 2000) -> Iterator[Job]:
        """Pending jobs of the current plan in plan order, a page at a time, so 500k
        jobs never sit in memory; `unless` is an extra SQL condition on `j` that
        excludes a job (e.g. one with a batch request in flight)."""
        last = -1
        extra = f"AND NOT ({unless})" if unless else ""
        while True:
            rows = self.db.execute(
                f"SELECT idx, payload FROM jobs j WHERE active=1 AND status='pending' AND idx>? "
                f"{extra} ORDER BY idx LIMIT ?",
                (last, page),
            ).fetchall()
            if not rows:
                return
            for idx, payload in rows:
                last = idx
                yield Job.from_json(payload)

    def outputs(self, job_id: str) -> dict[str, StageOutput]:
        rows = self.db.execute(
            "SELECT stage, text, stop_reason, model, backend, created_at "
            "FROM outputs WHERE job_id=?",
            (job_id,),
        )
        return {r[0]: StageOutput(*r) for r in rows}

    def done_jobs(self) -> Iterator[tuple[Job, dict[str, StageOutput]]]:
        """Finished jobs of the current plan in plan order, with their stage outputs."""
        cur = self.db.execute(
            "SELECT j.payload, o.stage, o.text, o.stop_reason, o.model, o.backend, o.created_at "
            "FROM jobs j JOIN outputs o ON o.job_id = j.id "
            "WHERE j.active=1 AND j.status='done' ORDER BY j.idx, o.created_at"
        )
        current: Job | None = None
        outs: dict[str, StageOutput] = {}
        for payload, *out in cur:
            job = Job.from_json(payload)
            if current is not None and job.id != current.id:
                yield current, outs
                outs = {}
            current = job
            outs[out[0]] = StageOutput(*out)
        if current is not None:
            yield current, outs

    # -- recording ----------------------------------------------------------------------
    def record_stage(
        self,
        job: Job,
        stage: str,
        completion: Completion,
        backend: str,
        started: float,
        *,
        final: bool,
        batch_custom_id: str | None = None,
    ) -> None:
        """Commit one finished stage (and, if it was the last, the job) in one transaction.

        `batch_custom_id`: the batch request this came from, marked succeeded in
        the same transaction so re-reading a batch's results never pays twice."""
        now = time.time()
        c = completion
        cur = self.db.cursor()
        cur.execute("BEGIN")
        cur.execute(
            "INSERT OR REPLACE INTO outputs VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                job.id,
                stage,
                c.text,
                c.stop_reason,
                c.input_tokens,
                c.output_tokens,
                c.cache_read_tokens,
                c.cache_write_tokens,
                c.cost_usd,
                c.model,
                backend,
                now,
            ),
        )
        self.insert_paid_attempt(cur, job.id, stage, started, now, c)
        cur.execute(
            "UPDATE jobs SET updated_at=?" + (", status='done'" if final else "") + " WHERE id=?",
            (now, job.id),
        )
        if batch_custom_id is not None:
            cur.execute(
                "UPDATE batch_requests SET result='succeeded' WHERE custom_id=?", (batch_custom_id,)
            )
        cur.execute("COMMIT")

    @staticmethod
    def insert_paid_attempt(
        cur: sqlite3.Cursor,
        job_id: str,
        stage: str,
        started: float,
        finished: float,
        completion: Completion,
        *,
        outcome: str = "ok",
        error_class: str | None = None,
        error_message: str | None = None,
    ) -> None:
        """One answered request with its usage and cost, inside the caller's transaction."""
        c = completion
        cur.execute(
            "INSERT INTO attempts (job_id, stage, started_at, finished_at, outcome, error_class, "
            "error_message, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, "
            "cost_usd, model) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                job_id,
                stage,
                started,
                finished,
                outcome,
                error_class,
                error_message,
                c.input_tokens,
                c.output_tokens,
                c.cache_read_tokens,
                c.cache_write_tokens,
                c.cost_usd,
                c.model,
            ),
        )

    def record_error(
        self,
        job: Job | str,
        stage: str,
        started: float,
        error: BaseException,
        *,
        status: int | None,
        fatal: bool,
    ) -> None:
        """Record one failed request; `fatal` means retrying cannot help (e.g. a 400)."""
        now = time.time()
        message = str(error)[:2000]
        self.db.execute(
            "INSERT INTO attempts (job_id, stage, started_at, finished_at, outcome, error_class, "
            "error_message, status) VALUES (?,?,?,?,?,?,?,?)",
            (
                job if isinstance(job, str) else job.id,
                stage,
                started,
                now,
                "failed" if fatal else "retry",
                type(error).__name__,
                message,
                status,
            ),
        )

    def fail_job(self, job: Job, stage: str, error: BaseException) -> None:
        """The job gave up at `stage` (a permanent error, or attempts exhausted)."""
        message = f"{stage}: {describe_error(type(error).__name__)}: {str(error)[:2000]}"
        self.db.execute(
            "UPDATE jobs SET status='failed', error=?, updated_at=? WHERE id=?",
            (message, time.time(), job.id),
        )

    def done_by_genre(self) -> dict[str, int]:
        """Finished jobs of the current plan per genre (what a top-up sizes its yield on)."""
        rows = self.db.execute(
            "SELECT genre, COUNT(*) FROM jobs WHERE active=1 AND status='done' GROUP BY genre"
        )
        return {str(g): int(n) for g, n in rows}

    def common_errors(self, limit: int = 3) -> list[tuple[str, int]]:
        """The most frequent failure messages of the attempts, most frequent first."""
        rows = self.db.execute(
            "SELECT error_message, COUNT(*) FROM attempts WHERE outcome != 'ok' "
            "AND error_message IS NOT NULL GROUP BY error_message ORDER BY COUNT(*) DESC LIMIT ?",
            (limit,),
        )
        return [(str(m), int(n)) for m, n in rows]

    # -- totals -------------------------------------------------------------------------
    def totals(self) -> Totals:
        counts = dict(
            self.db.execute(
                "SELECT status, COUNT(*) FROM jobs WHERE active=1 GROUP BY status"
            ).fetchall()
        )
        usage = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(input_tokens),0), COALESCE(SUM(output_tokens),0), "
            "COALESCE(SUM(cache_read_tokens),0), COALESCE(SUM(cache_write_tokens),0), "
            "COALESCE(SUM(cost_usd),0) FROM attempts"
        ).fetchone()
        return Totals(
            jobs=sum(counts.values()),
            done=counts.get("done", 0),
            failed=counts.get("failed", 0),
            pending=counts.get("pending", 0),
            requests=usage[0],
            input_tokens=usage[1],
            output_tokens=usage[2],
            cache_read_tokens=usage[3],
            cache_write_tokens=usage[4],
            cost_usd=float(usage[5]),
        )

    def spend_by_stage(self) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT j.genre, a.stage, a.model, COUNT(*), SUM(a.input_tokens), "
            "SUM(a.output_tokens), "
            "SUM(a.cache_read_tokens), SUM(a.cache_write_tokens), SUM(a.cost_usd) "
            "FROM attempts a JOIN jobs j ON j.id = a.job_id WHERE a.outcome='ok' "
            "GROUP BY j.genre, a.stage, a.model ORDER BY j.genre, a.stage"
        )
        keys = (
            "genre",
            "stage",
            "model",
            "requests",
            "input_tokens",
            "output_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "cost_usd",
        )
        return [dict(zip(keys, r, strict=False)) for r in rows]
