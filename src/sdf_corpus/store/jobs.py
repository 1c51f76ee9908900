"""The plan and its progress: meta, rounds, jobs, stage outputs and attempts.

Every finished stage is committed together with the attempt that produced it
(alone, or with the other stages that finished while the previous commit ran),
so a kill at any moment loses at most the requests in flight and the answers
waiting for that commit, and a re-run never asks for a committed stage again.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sdf_corpus.plan.job import Job
from sdf_corpus.sampling import Completion, describe_error
from sdf_corpus.store.schema import BUSY_TIMEOUT_MS, connect

__all__ = ["JobQueries", "StageOutput", "StageRecord"]


@dataclass(frozen=True, slots=True)
class StageOutput:
    stage: str
    text: str
    stop_reason: str
    model: str
    backend: str
    created_at: float
    key: str | None = None  # what shaped it (chain.stage_key); None: written before keys


@dataclass(frozen=True, slots=True)
class StageRecord:
    """A finished stage on its way into the ledger."""

    job: Job
    stage: str
    completion: Completion
    started: float
    final: bool
    backend: str = ""  # the provider that answered, when not the run's one
    key: str | None = None  # chain.stage_key of the request answered


_UPSERT_JOB = (
    "INSERT INTO jobs (id, idx, round, genre, principle_id, ai_id, payload) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET active=1, idx=excluded.idx"
)
# Move a job's current output of a stage into stage_history when a different one
# takes its place (its key is not the new one's).
_DISPLACE = (
    "INSERT OR IGNORE INTO stage_history SELECT key, job_id, stage, text, stop_reason, "
    "input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, model, "
    "backend, created_at FROM outputs WHERE job_id=? AND stage=? AND key IS NOT NULL AND key!=?"
)
_NOT_IN_FLIGHT = (
    "AND NOT EXISTS (SELECT 1 FROM batch_requests r WHERE r.job_id=j.id AND r.result IS NULL)"
)
_INSERT_ATTEMPT = (
    "INSERT INTO attempts (job_id, stage, started_at, finished_at, outcome, error_class, "
    "error_message, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, "
    "cost_usd, model) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


def _usage(c: Completion) -> tuple[int, int, int, int, float, str]:
    """A completion's usage, cost and model, in the column order of outputs and attempts."""
    return (
        c.input_tokens,
        c.output_tokens,
        c.cache_read_tokens,
        c.cache_write_tokens,
        c.cost_usd,
        c.model,
    )


class JobQueries:
    """The connection and the queries of the generation loop (see `Store`)."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        self.db: sqlite3.Connection = connect(path, readonly=readonly)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self, *, immediate: bool = False) -> Iterator[None]:
        """One commit for everything inside; nothing of it if anything raises.

        `immediate` takes the write lock up front: with `--workers` several processes
        write, and SQLite's busy timeout then queues them instead of failing one."""
        self.db.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        with self._until_commit():
            yield

    @contextmanager
    def _until_commit(self) -> Iterator[None]:
        """Commit the transaction just begun once the body ran; roll it back if it raised."""
        try:
            yield
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @contextmanager
    def released(self) -> Iterator[Path]:
        """The connection closed for the duration (no SQLite connection may cross the
        fork of `generate --workers`), then opened again on the same file."""
        self.db.close()
        try:
            yield self.path
        finally:
            self.db = connect(self.path, readonly=self.readonly)

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
        n = 0
        with self.transaction():
            self.db.execute("UPDATE jobs SET active=0")
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
                    n += self._upsert(chunk)
                    chunk = []
            n += self._upsert(chunk)
        return n

    def _upsert(self, rows: list[tuple[Any, ...]]) -> int:
        self.db.executemany(_UPSERT_JOB, rows)
        return len(rows)

    def reset_failed(self) -> int:
        cur = self.db.execute(
            "UPDATE jobs SET status='pending', error=NULL WHERE status='failed' AND active=1"
        )
        return cur.rowcount

    def pending_jobs(self, *, in_no_batch: bool = False, page: int = 2000) -> Iterator[Job]:
        """Pending jobs of the current plan in plan order, a page at a time, so 500k
        jobs never sit in memory; `in_no_batch`: only those with no batch request
        still in flight (what `generate --batch` may submit)."""
        last = -1
        extra = _NOT_IN_FLIGHT if in_no_batch else ""
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

    def job(self, job_id: str) -> Job:
        row = self.db.execute("SELECT payload FROM jobs WHERE id=?", (job_id,)).fetchone()
        return Job.from_json(row[0])

    def outputs(self, job_id: str) -> dict[str, StageOutput]:
        rows = self.db.execute(
            "SELECT stage, text, stop_reason, model, backend, created_at, key "
            "FROM outputs WHERE job_id=?",
            (job_id,),
        )
        return {r[0]: StageOutput(*r) for r in rows}

    def done_jobs(self) -> Iterator[tuple[Job, dict[str, StageOutput]]]:
        """Finished jobs of the current plan in plan order, with their stage outputs."""
        cur = self.db.execute(
            "SELECT j.payload, o.stage, o.text, o.stop_reason, o.model, o.backend, o.created_at, "
            "o.key FROM jobs j JOIN outputs o ON o.job_id = j.id "
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

    def done_by_genre(self) -> dict[str, int]:
        """Finished jobs of the current plan per genre (what a top-up sizes its yield on)."""
        rows = self.db.execute(
            "SELECT genre, COUNT(*) FROM jobs WHERE active=1 AND status='done' GROUP BY genre"
        )
        return {str(g): int(n) for g, n in rows}

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
        key: str | None = None,
    ) -> None:
        """Commit one finished stage (and, if it was the last, the job) in one transaction.

        `batch_custom_id`: the batch request this came from, marked succeeded in
        the same transaction so re-reading a batch's results never pays twice."""
        with self.transaction(immediate=True):
            self._write_stage(
                StageRecord(job, stage, completion, started, final, key=key),
                backend,
                batch_custom_id,
            )

    def record_stages(self, records: Sequence[StageRecord], backend: str) -> None:
        """Commit several finished stages in one transaction: all of them or none.

        Each stage still goes in with its paid attempt, so the ledger never holds an
        answer without its cost nor a cost without its answer; one transaction for a
        group saves the per-commit cost (and, under `--workers`, the write-lock hand
        over) that one per stage pays."""
        with self.transaction(immediate=True):
            for record in records:
                self._write_stage(record, backend, None)

    def try_record_stages(self, records: Sequence[StageRecord], backend: str) -> bool:
        """`record_stages`, or False at once, with nothing written, while another
        connection holds the write lock: a caller on an event loop retries later
        instead of blocking the loop in SQLite's busy wait."""
        self.db.execute("PRAGMA busy_timeout=0")
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                return False
            raise
        finally:
            self.db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        with self._until_commit():
            for record in records:
                self._write_stage(record, backend, None)
        return True

    def _write_stage(self, record: StageRecord, backend: str, batch_custom_id: str | None) -> None:
        now, c, job = time.time(), record.completion, record.job
        # The answer this one replaces (a changed stage) stays findable by its key.
        self.db.execute(_DISPLACE, (job.id, record.stage, record.key or ""))
        self.db.execute(
            "INSERT OR REPLACE INTO outputs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                job.id,
                record.stage,
                c.text,
                c.stop_reason,
                *_usage(c),
                record.backend or backend,
                now,
                record.key,
            ),
        )
        self.insert_paid_attempt(job.id, record.stage, record.started, now, c)
        self.db.execute(
            "UPDATE jobs SET updated_at=?"
            + (", status='done'" if record.final else "")
            + " WHERE id=?",
            (now, job.id),
        )
        if batch_custom_id is not None:
            self.db.execute(
                "UPDATE batch_requests SET result='succeeded' WHERE custom_id=?",
                (batch_custom_id,),
            )

    def insert_paid_attempt(
        self,
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
        self.db.execute(
            _INSERT_ATTEMPT,
            (
                job_id,
                stage,
                started,
                finished,
                outcome,
                error_class,
                error_message,
                *_usage(c),
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
        self.db.execute(
            "INSERT INTO attempts (job_id, stage, started_at, finished_at, outcome, error_class, "
            "error_message, status) VALUES (?,?,?,?,?,?,?,?)",
            (
                job if isinstance(job, str) else job.id,
                stage,
                started,
                time.time(),
                "failed" if fatal else "retry",
                type(error).__name__,
                str(error)[:2000],
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
