"""What a run has done so far, read from the ledger: totals, spend, errors, progress.

Only SELECTs: the summary screens, the report, the dataset card and the build's
bookkeeping read through these, and none of them changes a run.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

__all__ = ["SPEND_METRICS", "ReportQueries", "Totals"]


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


# The summed figures of a spend row, in the order the report shows them.
SPEND_METRICS = (
    "requests",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_usd",
)
_SPEND_KEYS = ("genre", "stage", "model", *SPEND_METRICS)


class ReportQueries:
    db: sqlite3.Connection

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
        return [dict(zip(_SPEND_KEYS, r, strict=False)) for r in rows]

    def common_errors(self, limit: int = 3) -> list[tuple[str, int]]:
        """The most frequent failure messages of the attempts, most frequent first."""
        rows = self.db.execute(
            "SELECT error_message, COUNT(*) FROM attempts WHERE outcome != 'ok' "
            "AND error_message IS NOT NULL GROUP BY error_message ORDER BY COUNT(*) DESC LIMIT ?",
            (limit,),
        )
        return [(str(m), int(n)) for m, n in rows]

    def error_classes(self) -> list[tuple[str, int]]:
        """Failed attempts per error class, most frequent first (the summary screen)."""
        rows = self.db.execute(
            "SELECT error_class, COUNT(*) FROM attempts WHERE outcome != 'ok' "
            "GROUP BY error_class ORDER BY COUNT(*) DESC"
        )
        return [(str(name), int(n)) for name, n in rows]

    def progress(self) -> tuple[int, int]:
        """Finished jobs (from the status index) and attempts so far (the last row id):
        both cheap at 500k jobs, where summing usage every second would not be."""
        finished = self.db.execute(
            "SELECT COUNT(*) FROM jobs WHERE active = 1 AND status IN ('done', 'failed')"
        ).fetchone()[0]
        requests = self.db.execute("SELECT COALESCE(MAX(id), 0) FROM attempts").fetchone()[0]
        return int(finished), int(requests)

    def outputs_fingerprint(self) -> tuple[int, int, float]:
        """(finished jobs, their stage outputs, the newest output's time) of the current
        plan: changes whenever what the shards are made from changes."""
        row = self.db.execute(
            "SELECT COUNT(DISTINCT j.id), COUNT(o.stage), COALESCE(MAX(o.created_at), 0) "
            "FROM jobs j JOIN outputs o ON o.job_id = j.id "
            "WHERE j.active = 1 AND j.status = 'done'"
        ).fetchone()
        # row[2] as SQLite gave it: the fingerprint stored by earlier runs must still match.
        return int(row[0]), int(row[1]), row[2]

    def jobs_by_genre(self) -> dict[str, dict[str, int]]:
        """Jobs of the current plan per genre and status, with `planned` their sum."""
        out: dict[str, dict[str, int]] = {}
        rows = self.db.execute(
            "SELECT genre, status, COUNT(*) FROM jobs WHERE active=1 GROUP BY genre, status"
        )
        for genre, status, n in rows:
            out.setdefault(genre, {"planned": 0})[status] = n
            out[genre]["planned"] += n
        return out

    def failed_examples(self, limit: int = 5) -> list[dict[str, str]]:
        """The first failed jobs of the plan, in plan order, with their last error."""
        rows = self.db.execute(
            "SELECT id, genre, error FROM jobs WHERE active=1 AND status='failed' "
            "ORDER BY idx LIMIT ?",
            (limit,),
        )
        return [{"id": i, "genre": g, "error": e or ""} for i, g, e in rows]

    def idea_pool_by_cell(self) -> list[dict[str, Any]]:
        """The idea pool's briefs per genre and principle: asked (re-asks included), kept,
        and dropped as repeats (exact or too close); [] for a ledger without a pool."""
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master")}
        if "pool_ideas" not in tables:  # a ledger from before the pool, opened read-only
            return []
        rows = self.db.execute(
            "SELECT cell, COUNT(*), SUM(verdict = 'kept'), "
            "SUM(verdict IN ('too_close', 'duplicate')) FROM pool_ideas GROUP BY cell"
        )
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for cell, asked, kept, close in rows:
            genre, principle, _about = str(cell).split("/", 2)
            row = out.setdefault(
                (genre, principle),
                {
                    "genre": genre,
                    "principle_id": principle,
                    "asked": 0,
                    "kept": 0,
                    "dropped_too_close": 0,
                },
            )
            row["asked"] += int(asked)
            row["kept"] += int(kept or 0)
            row["dropped_too_close"] += int(close or 0)
        return [out[key] for key in sorted(out)]

    def meta_json(self, key: str, default: Any) -> Any:
        """A meta value written as JSON (the run facts), or `default` if absent."""
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def meta_values(self) -> dict[str, Any]:
        """Every meta value, parsed as JSON where it is JSON (the dataset card's facts)."""
        out: dict[str, Any] = {}
        for key, value in self.db.execute("SELECT key, value FROM meta").fetchall():
            try:
                out[key] = json.loads(value)
            except (TypeError, ValueError):
                out[key] = value
        return out
