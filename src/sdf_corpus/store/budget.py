"""The closed budget loop's queries: a genre's pending jobs from the front of the
plan, jobs added by a wave, and the finished jobs it measures (`sdf_corpus.budget`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from sdf_corpus.plan.job import Job

__all__ = ["BudgetQueries"]

_ADD_JOB = (
    "INSERT INTO jobs (id, idx, round, genre, principle_id, ai_id, payload) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET active=1, idx=excluded.idx"
)


class BudgetQueries:
    db: sqlite3.Connection

    def add_jobs(self, jobs: Iterable[Job]) -> int:
        """Add a wave's jobs to the active plan (inside the caller's transaction)."""
        rows = [
            (j.id, j.index, j.round, j.genre, j.principle_id, j.ai_id, j.to_json()) for j in jobs
        ]
        self.db.executemany(_ADD_JOB, rows)
        return len(rows)

    def pending_of_genre(self, genre: str, after: int, limit: int) -> list[tuple[int, Job]]:
        """A genre's next pending jobs of the current plan after plan index `after`."""
        rows = self.db.execute(
            "SELECT idx, payload FROM jobs WHERE active=1 AND status='pending' AND genre=? "
            "AND idx>? ORDER BY idx LIMIT ?",
            (genre, after, limit),
        ).fetchall()
        return [(int(idx), Job.from_json(payload)) for idx, payload in rows]

    def done_ids(self) -> list[tuple[str, str]]:
        """(job id, genre) of the current plan's finished jobs, in plan order."""
        rows = self.db.execute(
            "SELECT id, genre FROM jobs WHERE active=1 AND status='done' ORDER BY idx"
        )
        return [(str(i), str(g)) for i, g in rows]

    def last_done_by_genre(self) -> dict[str, int]:
        """Per genre, the plan index of its last finished job of the current plan."""
        rows = self.db.execute(
            "SELECT genre, MAX(idx) FROM jobs WHERE active=1 AND status='done' GROUP BY genre"
        )
        return {str(g): int(i) for g, i in rows}

    def gaps_by_genre(self) -> dict[str, int]:
        """Per genre, its pending jobs in front of its last finished one."""
        rows = self.db.execute(
            "SELECT j.genre, COUNT(*) FROM jobs j WHERE j.active=1 AND j.status='pending' "
            "AND j.idx < (SELECT MAX(d.idx) FROM jobs d WHERE d.active=1 AND d.status='done' "
            "AND d.genre=j.genre) GROUP BY j.genre"
        )
        return {str(g): int(n) for g, n in rows}

    def plan_states(self) -> list[tuple[str, str, str]]:
        """(job id, genre, status) of every job of the current plan, in plan order."""
        rows = self.db.execute("SELECT id, genre, status FROM jobs WHERE active=1 ORDER BY idx")
        return [(str(i), str(g), str(s)) for i, g, s in rows]

    def pending_by_genre(self) -> dict[str, int]:
        """Pending jobs of the current plan per genre."""
        rows = self.db.execute(
            "SELECT genre, COUNT(*) FROM jobs WHERE active=1 AND status='pending' GROUP BY genre"
        )
        return {str(g): int(n) for g, n in rows}

    def planned_by_genre(self) -> dict[str, int]:
        """Jobs of the current plan per genre, whatever their status."""
        rows = self.db.execute("SELECT genre, COUNT(*) FROM jobs WHERE active=1 GROUP BY genre")
        return {str(g): int(n) for g, n in rows}
