"""Stage outputs by key (`sdf_corpus.chain.stage_key`): the queries that let a changed
later stage re-run alone while everything before it is found again.

- `restore`: a job's chain needs an output its `outputs` row does not hold (the
  stage changed, then changed back): the one in `stage_history` with that key takes
  its place, and the displaced row goes to history, in one transaction.
- `set_key`: an output written before keys existed gets the key it answers.
- `finish`: a job whose every stage was found (nothing requested) is done.
- `reopen`: a genre's chain changed: its done jobs are walked again (`pending`);
  the walk finds what is unchanged and requests only the rest.
- `rename_job`: an old ledger's job moves to its new id (plan/legacy.py).
"""

from __future__ import annotations

import time

from sdf_corpus.store.jobs import JobQueries, StageOutput

__all__ = ["StageKeys", "stages_held"]

_HISTORY_COLS = (
    "key, job_id, stage, text, stop_reason, input_tokens, output_tokens, cache_read_tokens, "
    "cache_write_tokens, cost_usd, model, backend, created_at"
)
_OUTPUT_COLS = (
    "job_id, stage, text, stop_reason, input_tokens, output_tokens, cache_read_tokens, "
    "cache_write_tokens, cost_usd, model, backend, created_at, key"
)
_JOB_TABLES = ("outputs", "attempts", "batch_requests", "stage_history")


class StageKeys:
    def __init__(self, ledger: JobQueries) -> None:
        self.ledger = ledger

    def restore(self, job_id: str, stage: str, key: str) -> StageOutput | None:
        """The output with `key` from history, now the job's current one; None if absent."""
        db = self.ledger.db
        row = db.execute(
            "SELECT stage, text, stop_reason, model, backend, created_at, key "
            "FROM stage_history WHERE key=? AND job_id=? AND stage=?",
            (key, job_id, stage),
        ).fetchone()
        if row is None:
            return None
        with self.ledger.transaction(immediate=True):
            db.execute(
                f"INSERT OR REPLACE INTO stage_history ({_HISTORY_COLS}) "
                f"SELECT {_HISTORY_COLS} FROM outputs WHERE job_id=? AND stage=? "
                "AND key IS NOT NULL",
                (job_id, stage),
            )
            db.execute(
                f"INSERT OR REPLACE INTO outputs ({_OUTPUT_COLS}) SELECT job_id, stage, text, "
                "stop_reason, input_tokens, output_tokens, cache_read_tokens, "
                "cache_write_tokens, cost_usd, model, backend, created_at, key "
                "FROM stage_history WHERE key=?",
                (key,),
            )
            db.execute("DELETE FROM stage_history WHERE key=?", (key,))
        return StageOutput(*row)

    def set_key(self, job_id: str, stage: str, key: str) -> None:
        self.ledger.db.execute(
            "UPDATE outputs SET key=? WHERE job_id=? AND stage=?", (key, job_id, stage)
        )

    def finish(self, job_id: str) -> None:
        self.ledger.db.execute(
            "UPDATE jobs SET status='done', updated_at=? WHERE id=? AND status='pending'",
            (time.time(), job_id),
        )

    def reopen(self, genre: str) -> int:
        """The genre's done jobs (in the plan or set aside) back to pending, to be walked again."""
        cur = self.ledger.db.execute(
            "UPDATE jobs SET status='pending' WHERE genre=? AND status='done'",
            (genre,),
        )
        return int(cur.rowcount)

    def adopted(self) -> None:
        """The old ledger's jobs have their new ids: clear the migration's flag."""
        self.ledger.db.execute("DELETE FROM meta WHERE key='adopt_ids'")

    def rename_job(self, old: str, new: str, payload: str) -> bool:
        """Move job `old` (and its outputs, attempts and batch requests) to id `new`;
        False when there is no `old`, or `new` is already there."""
        db = self.ledger.db
        if db.execute("SELECT 1 FROM jobs WHERE id=?", (new,)).fetchone() is not None:
            return False
        cur = db.execute("UPDATE jobs SET id=?, payload=? WHERE id=?", (new, payload, old))
        if not cur.rowcount:
            return False
        for table in _JOB_TABLES:
            db.execute(f"UPDATE {table} SET job_id=? WHERE job_id=?", (new, old))
        return True


def stages_held(ledger: JobQueries) -> list[tuple[str, str, int]]:
    """(genre, stage, finished jobs of the plan holding an output of it): with the
    chain each genre runs now (meta `stage_chains`), what the report says about
    documents built from an earlier chain's stages (the rewrite switched off)."""
    rows = ledger.db.execute(
        "SELECT j.genre, o.stage, COUNT(*) FROM jobs j JOIN outputs o ON o.job_id = j.id "
        "WHERE j.active=1 AND j.status='done' GROUP BY j.genre, o.stage ORDER BY 1, 2"
    )
    return [(str(g), str(s), int(n)) for g, s, n in rows]
