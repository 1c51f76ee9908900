"""The ledger's batch tables (`batches`, `batch_requests`; schema in schema.py).

Submitting a batch is two commits around one API call:

1. `open_intent`: a `batches` row with status `creating` and every request's
   deterministic custom id, committed BEFORE create is called;
2. `attach`: the provider's batch id, committed right after create returns.

A kill between the two leaves a `creating` row: the batch may or may not exist.
The runner resolves it on resume by listing the workspace's recent batches
(see `BatchRunner._resolve_orphans`), never by blindly resubmitting.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sdf_corpus.plan.job import Job
from sdf_corpus.store.ideas import POOL_STAGE
from sdf_corpus.store.jobs import JobQueries

__all__ = ["BatchBook", "BatchRow", "RequestRow"]

_HAS_POOL = "EXISTS (SELECT 1 FROM batch_requests r WHERE r.seq = b.seq AND r.stage = ?)"


@dataclass(frozen=True, slots=True)
class RequestRow:
    custom_id: str
    job_id: str
    stage: str
    attempt: int
    prefill: str
    result: str | None = None
    key: str | None = None  # chain.stage_key of the request: what its answer is stored under


@dataclass(frozen=True, slots=True)
class BatchRow:
    seq: int
    id: str | None
    status: str
    requests: int
    worst_cost_usd: float
    created_at: float
    provider: str = "anthropic"
    model: str = ""  # '' for batches created before the column (the run's default model)

    @property
    def token(self) -> str:
        """What the batch's metadata carries (where the API keeps metadata) so that a
        re-run finds the batch this intent made: unique to the intent, in any ledger."""
        return f"sdf-{self.seq}-{round(self.created_at * 1000)}"


class BatchBook:
    def __init__(self, ledger: JobQueries) -> None:
        self.ledger = ledger

    @property
    def db(self) -> sqlite3.Connection:
        # Read each time: the store may have reopened its connection (`released`).
        return self.ledger.db

    # -- submitting -----------------------------------------------------------------------
    def open_intent(
        self,
        rows: Sequence[RequestRow],
        size: int,
        worst_cost: float,
        provider: str = "anthropic",
        model: str = "",
    ) -> BatchRow:
        now = time.time()
        with self.ledger.transaction():
            cur = self.db.execute(
                "INSERT INTO batches (status, requests, bytes, worst_cost_usd, created_at, "
                "provider, model) VALUES ('creating', ?, ?, ?, ?, ?, ?)",
                (len(rows), size, worst_cost, now, provider, model),
            )
            seq = int(cur.lastrowid or 0)
            self.db.executemany(
                "INSERT INTO batch_requests (custom_id, seq, job_id, stage, attempt, prefill, key) "
                "VALUES (?,?,?,?,?,?,?)",
                [(r.custom_id, seq, r.job_id, r.stage, r.attempt, r.prefill, r.key) for r in rows],
            )
        return BatchRow(seq, None, "creating", len(rows), worst_cost, now, provider, model)

    def attach(self, seq: int, batch_id: str) -> None:
        self.db.execute(
            "UPDATE batches SET id=?, status='in_progress', submitted_at=? WHERE seq=?",
            (batch_id, time.time(), seq),
        )

    def drop_intent(self, seq: int) -> None:
        """create() was refused outright: no batch exists, forget the intent."""
        with self.ledger.transaction():
            self.db.execute("DELETE FROM batch_requests WHERE seq=?", (seq,))
            self.db.execute("DELETE FROM batches WHERE seq=?", (seq,))

    def orphan_lost(self, seq: int) -> None:
        """No batch was found for an intent: its requests count as lost attempts."""
        with self.ledger.transaction():
            self.db.execute("UPDATE batches SET status='orphaned' WHERE seq=?", (seq,))
            self.db.execute(
                "UPDATE batch_requests SET result='lost' WHERE seq=? AND result IS NULL", (seq,)
            )

    # -- reading --------------------------------------------------------------------------
    def batches(self, *statuses: str, pool: bool | None = None) -> list[BatchRow]:
        """Batches in these statuses; `pool`: only those carrying the idea pool's list
        requests (True) or only the jobs' stages (False): each has its own runner."""
        marks = ",".join("?" * len(statuses))
        which = "" if pool is None else ("AND " if pool else "AND NOT ") + _HAS_POOL
        rows = self.db.execute(
            "SELECT seq, id, status, requests, worst_cost_usd, created_at, provider, model "
            "FROM batches b "
            f"WHERE status IN ({marks}) {which} ORDER BY seq",
            (*statuses, *((POOL_STAGE,) if pool is not None else ())),
        ).fetchall()
        return [BatchRow(*r) for r in rows]

    def known_ids(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT id FROM batches WHERE id IS NOT NULL")}

    def requests(self, seq: int) -> dict[str, RequestRow]:
        """The batch's requests in the order they were put in it."""
        rows = self.db.execute(
            "SELECT custom_id, job_id, stage, attempt, prefill, result, key FROM batch_requests "
            "WHERE seq=? ORDER BY rowid",
            (seq,),
        )
        return {r[0]: RequestRow(*r) for r in rows}

    def attempts(self, job_id: str, stage: str) -> int:
        row = self.db.execute(
            "SELECT COUNT(*) FROM batch_requests WHERE job_id=? AND stage=?", (job_id, stage)
        ).fetchone()
        return int(row[0])

    def job(self, job_id: str) -> Job:
        return self.ledger.job(job_id)

    def ready_jobs(self, page: int = 2000) -> Iterator[Job]:
        """Pending jobs with no request in flight, in plan order, a page at a time."""
        return self.ledger.pending_jobs(in_no_batch=True, page=page)

    # -- results --------------------------------------------------------------------------
    def mark(self, custom_id: str, result: str, error: str | None = None) -> None:
        self.db.execute(
            "UPDATE batch_requests SET result=?, error=? WHERE custom_id=?",
            (result, error, custom_id),
        )

    def record_failure(
        self,
        job: Job,
        row: RequestRow,
        result: str,
        error: BaseException,
        message: str,
        *,
        status: int | None,
        fatal: bool,
        fail_job: bool,
    ) -> None:
        """A request that came back without an answer, in one transaction: the failed
        attempt, the request's result, and (`fail_job`) the job given up on."""
        with self.ledger.transaction():
            self.ledger.record_error(job, row.stage, time.time(), error, status=status, fatal=fatal)
            self.mark(row.custom_id, result, message[:2000])
            if fail_job:
                self.ledger.fail_job(job, row.stage, error)

    def unanswered(self, seq: int) -> list[RequestRow]:
        rows = self.db.execute(
            "SELECT custom_id, job_id, stage, attempt, prefill, result, key FROM batch_requests "
            "WHERE seq=? AND result IS NULL",
            (seq,),
        )
        return [RequestRow(*r) for r in rows]

    def set_status(self, seq: int, status: str) -> None:
        column = {"ended": "ended_at", "collected": "collected_at"}.get(status)
        extra = f", {column}={time.time()!r}" if column else ""
        self.db.execute(f"UPDATE batches SET status=?{extra} WHERE seq=?", (status, seq))
