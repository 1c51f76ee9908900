"""Folding another ledger into this one (`sdf-corpus merge`): ATTACH and typed copies.

Job ids are content addresses, so folding is a copy: stage outputs by (job,
stage), every paid attempt exactly once (spend stays true), and each job's
status, where done beats failed beats pending. Each source goes in one
IMMEDIATE transaction: a failure leaves this ledger as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sdf_corpus.store.jobs import JobQueries
from sdf_corpus.store.schema import connect

__all__ = ["Folded", "fold", "foreign_jobs", "open_batches"]

_OUTPUT_COLS = (
    "job_id, stage, text, stop_reason, input_tokens, output_tokens, cache_read_tokens, "
    "cache_write_tokens, cost_usd, model, backend, created_at, key"
)
_ATTEMPT_COLS = (
    "job_id, stage, started_at, finished_at, outcome, error_class, error_message, status, "
    "input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, model"
)


@dataclass(frozen=True)
class Folded:
    outputs: int  # stage outputs new to this ledger
    attempts: int  # attempt rows new to it
    jobs_finished: int  # jobs that became done or failed by the fold


def open_batches(path: Path) -> int:
    """Message batches still creating or in progress in a would-be source, read
    without changing it; a file that is not a ledger, or a ledger of a newer
    sdf-corpus, raises InputError naming it."""
    db = connect(path, readonly=True)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "batches" not in tables:  # a ledger from before `--batch` existed
            return 0
        return int(
            db.execute(
                "SELECT COUNT(*) FROM batches WHERE status IN ('creating', 'in_progress')"
            ).fetchone()[0]
        )
    finally:
        db.close()


@contextmanager
def _attached(store: JobQueries, path: Path) -> Iterator[None]:
    store.db.execute("ATTACH DATABASE ? AS src", (str(path),))
    try:
        yield
    finally:
        store.db.execute("DETACH DATABASE src")


def foreign_jobs(store: JobQueries, path: Path) -> tuple[int, str | None]:
    """(how many, one example) of the source's active jobs this ledger's plan lacks."""
    with _attached(store, path):
        row = store.db.execute(
            "SELECT COUNT(*), MIN(s.id) FROM src.jobs s WHERE s.active = 1 AND NOT EXISTS "
            "(SELECT 1 FROM main.jobs j WHERE j.id = s.id AND j.active = 1)"
        ).fetchone()
    return int(row[0]), row[1]


def fold(store: JobQueries, path: Path) -> Folded:
    """Copy the source's outputs, attempts and job statuses in; idempotent."""
    # Finding an attempt already copied must not scan the table per row.
    store.db.execute(
        "CREATE INDEX IF NOT EXISTS attempts_key ON attempts (job_id, stage, started_at)"
    )
    db = store.db
    with _attached(store, path), store.transaction(immediate=True):
        outputs = db.execute(
            f"INSERT OR IGNORE INTO main.outputs ({_OUTPUT_COLS}) "
            f"SELECT {_OUTPUT_COLS} FROM src.outputs"
        ).rowcount
        # An attempt is a paid request: copy each exactly once, so spend adds up.
        attempts = db.execute(
            f"INSERT INTO main.attempts ({_ATTEMPT_COLS}) SELECT {_ATTEMPT_COLS} "
            "FROM src.attempts a WHERE NOT EXISTS (SELECT 1 FROM main.attempts m WHERE "
            "m.job_id = a.job_id AND m.stage = a.stage AND m.started_at = a.started_at "
            "AND m.finished_at = a.finished_at AND m.outcome = a.outcome)"
        ).rowcount
        # done beats failed beats pending: a job one machine finished is finished.
        finished = db.execute(
            "UPDATE main.jobs SET status = s.status, error = s.error, updated_at = s.updated_at "
            "FROM src.jobs s WHERE s.id = main.jobs.id AND s.status != 'pending' "
            "AND (main.jobs.status = 'pending' "
            "OR (main.jobs.status = 'failed' AND s.status = 'done'))"
        ).rowcount
    return Folded(outputs, attempts, finished)
