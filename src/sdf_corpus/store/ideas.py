"""The idea pool's rows: list requests, the ideas they returned, and the jobs given them.

A pool request is committed in ONE transaction with the attempt that paid for it, every
idea it returned (kept or dropped, with why), and each kept idea as its job's idea-stage
output (zero cost: the attempt carries the request's cost once). So a kill loses only a
request in flight, and a re-run finds every brief of a committed request answered.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from sdf_corpus.sampling import Completion
from sdf_corpus.store.jobs import _DISPLACE, JobQueries

__all__ = ["POOL_BACKEND", "POOL_STAGE", "IdeaBook", "IdeaRow", "PoolCommit", "PoolFigures"]

# The attempts row of a pool request carries this stage name (the spend report shows it
# beside the genres' own stages); an idea the pool gave a job has this as its backend.
POOL_STAGE = "idea_pool"
POOL_BACKEND = "idea_pool"
# Job ids bound in one statement: SQLite caps a statement's parameters (999 before 3.32).
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class IdeaRow:
    """One brief's answer: `verdict` is kept | duplicate | too_close | missing."""

    item: int  # the brief's number in its request, from 1
    job_id: str
    text: str
    verdict: str
    near: str | None = None  # the held idea (request_id:item) it repeats
    cosine: float | None = None
    cell: str = ""  # the idea's own cell; "" means the request's (a one-cell request)
    key: str = ""  # a kept idea's stage key (ideas.cells.pool_key): its output's key


@dataclass(frozen=True, slots=True)
class PoolCommit:
    """A paid pool request and what became of each of its briefs."""

    request_id: str
    cell: str  # the cell it served, or its group ("genre/*/about") when it mixed cells
    genre: str
    stage: str  # the genre's idea stage: where a kept idea is committed for its job
    payer: str  # the job id the attempt row is filed under (the request's first brief)
    completion: Completion
    started: float
    ideas: Sequence[IdeaRow]


@dataclass(frozen=True, slots=True)
class PoolFigures:
    requests: int
    asked: int  # briefs sent, re-asks included
    kept: int
    duplicate: int
    too_close: int
    missing: int


class IdeaBook:
    """The pool's queries, on a run's open ledger."""

    def __init__(self, ledger: JobQueries) -> None:
        self.ledger = ledger

    def held(self, cell: str) -> list[tuple[str, str]]:
        """(reference, text) of the cell's kept ideas, oldest first."""
        return self._held("cell=?", cell)

    def held_like(self, pattern: str) -> list[tuple[str, str]]:
        """(reference, text) of the kept ideas of every cell matching a LIKE pattern."""
        return self._held("cell LIKE ?", pattern)

    def _held(self, match: Literal["cell=?", "cell LIKE ?"], cell: str) -> list[tuple[str, str]]:
        # `match` is one of two fixed conditions, never caller text: safe to format in.
        rows = self.ledger.db.execute(
            "SELECT request_id || ':' || item, text FROM pool_ideas "
            f"WHERE {match} AND verdict='kept' ORDER BY created_at, request_id, item",
            (cell,),
        )
        return [(str(ref), str(text)) for ref, text in rows]

    def asks(self, job_ids: Iterable[str]) -> dict[str, int]:
        """How often each job's brief was sent in a committed request (0 if never)."""
        ids = list(job_ids)
        out = dict.fromkeys(ids, 0)
        sql = "SELECT job_id, COUNT(*) FROM pool_ideas WHERE job_id IN ({ids}) GROUP BY job_id"
        for rows in self._per_chunk(sql, ids):
            out.update({str(j): int(n) for j, n in rows})
        return out

    def nears(self, job_ids: Iterable[str]) -> list[str]:
        """The held ideas these jobs' dropped ideas were too close to, newest first."""
        sql = (
            "SELECT near FROM pool_ideas WHERE near IS NOT NULL AND job_id IN ({ids}) "
            "ORDER BY created_at DESC, request_id, item"
        )
        return [str(r[0]) for rows in self._per_chunk(sql, list(job_ids)) for r in rows]

    def refused(self, job_ids: Iterable[str]) -> list[str]:
        """Texts of these jobs' ideas dropped as a repeat or too close, newest first: what
        a re-ask shows as taken, so it is not the same prompt (and the same answer) again."""
        sql = (
            "SELECT created_at, request_id, item, text FROM pool_ideas "
            "WHERE verdict IN ('duplicate', 'too_close') AND job_id IN ({ids})"
        )
        found = [
            (float(t), str(r), int(i), str(x))
            for rows in self._per_chunk(sql, list(job_ids))
            for t, r, i, x in rows
        ]
        # Newest first; ties (one request's ideas) in brief order, whatever the chunking.
        found.sort(key=lambda row: (-row[0], row[1], row[2]))
        return [text for *_, text in found]

    def without_idea(self, job_ids: Iterable[str]) -> set[str]:
        """The jobs among `job_ids` the pool has kept no idea for yet. A job's own idea
        output (asked with the pool off) does not count: with the pool on, every idea
        of a cell comes from the pool, checked against the others."""
        ids = list(job_ids)
        sql = "SELECT job_id FROM pool_ideas WHERE verdict='kept' AND job_id IN ({ids})"
        have = {str(r[0]) for rows in self._per_chunk(sql, ids) for r in rows}
        return set(ids) - have

    def set_aside(self, job_ids: Iterable[str], why: str) -> int:
        """Jobs whose cell gave them no distinct idea in `ideas.max_asks` asks: status
        `pool_exhausted`, never run nor asked again (docs/genres.md, "A saturated cell")."""
        sql = (
            "UPDATE jobs SET status='pool_exhausted', error=?, updated_at=? "
            "WHERE status='pending' AND id IN ({ids})"
        )
        with self.ledger.transaction(immediate=True):
            cursors = self._per_chunk(sql, list(job_ids), why, time.time())
            return sum(cur.rowcount for cur in cursors)

    def kept_idea(self, job_id: str) -> tuple[str, int, str] | None:
        """(request id, item, text) of the idea the pool kept for the job, if any."""
        row = self.ledger.db.execute(
            "SELECT request_id, item, text FROM pool_ideas WHERE job_id=? AND verdict='kept' "
            "ORDER BY created_at, request_id, item LIMIT 1",
            (job_id,),
        ).fetchone()
        return None if row is None else (str(row[0]), int(row[1]), str(row[2]))

    def committed(self, request_id: str) -> bool:
        row = self.ledger.db.execute(
            "SELECT 1 FROM pool_requests WHERE id=?", (request_id,)
        ).fetchone()
        return row is not None

    def commit(self, *pools: PoolCommit) -> None:
        """Each request, its attempt, every idea and each kept idea as its job's output:
        all of them in one transaction, or none of it (a round of requests commits
        together: ideas/fill.py). `created_at` rises with each request, so a cell's held
        ideas read back in the order they were judged."""
        if not pools:
            return
        now = time.time()
        with self.ledger.transaction(immediate=True):
            for pool in pools:
                self._insert(pool, now)
                now = math.nextafter(max(now, time.time()), math.inf)

    def _insert(self, pool: PoolCommit, now: float) -> None:
        c = pool.completion
        db = self.ledger.db
        kept = [row for row in pool.ideas if row.verdict == "kept"]
        self.ledger.insert_paid_attempt(pool.payer, POOL_STAGE, pool.started, now, c)
        db.execute(
            "INSERT INTO pool_requests VALUES (?,?,?,?,?,?,?)",
            (pool.request_id, pool.cell, pool.genre, len(pool.ideas), len(kept), c.model, now),
        )
        db.executemany(
            "INSERT INTO pool_ideas VALUES (?,?,?,?,?,?,?,?,?)",
            [
                (
                    pool.request_id,
                    r.item,
                    r.cell or pool.cell,
                    r.job_id,
                    r.text,
                    r.verdict,
                    r.near,
                    r.cosine,
                    now,
                )
                for r in pool.ideas
            ],
        )
        # Sent in a batch (`--batch`): its request is answered in the same commit, so a
        # re-run neither adopts the batch's answer again nor asks for it.
        db.execute(
            "UPDATE batch_requests SET result='succeeded' "
            "WHERE key=? AND stage=? AND result IS NULL",
            (pool.request_id, POOL_STAGE),
        )
        # A job's own idea (asked with the pool off) stays findable by its key.
        db.executemany(_DISPLACE, [(r.job_id, pool.stage, r.key) for r in kept])
        db.executemany(
            "INSERT OR REPLACE INTO outputs (job_id, stage, text, stop_reason, input_tokens, "
            "output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, model, "
            "backend, created_at, key) VALUES (?,?,?,?,0,0,0,0,0,?,?,?,?)",
            [
                (r.job_id, pool.stage, r.text, "pool", c.model, POOL_BACKEND, now, r.key)
                for r in kept
            ],
        )

    # -- the pool through a batch API (ideas/batched.py) --------------------------------------
    def batch_tries(self, request_id: str) -> int:
        """How often the pool request was put in a batch (its attempts, lost ones included)."""
        row = self.ledger.db.execute(
            "SELECT COUNT(*) FROM batch_requests WHERE key=? AND stage=?",
            (request_id, POOL_STAGE),
        ).fetchone()
        return int(row[0])

    def in_flight(self) -> dict[str, tuple[str, int]]:
        """Pool requests sent in a batch that is not collected and not yet answered in the
        ledger: request id -> (custom id, batch seq). A re-run waits for these answers
        instead of sending the request again."""
        rows = self.ledger.db.execute(
            "SELECT r.key, r.custom_id, r.seq FROM batch_requests r JOIN batches b "
            "ON b.seq = r.seq WHERE r.stage=? AND r.result IS NULL "
            "AND b.status IN ('in_progress', 'ended') ORDER BY r.seq",
            (POOL_STAGE,),
        )
        return {str(key): (str(cid), int(seq)) for key, cid, seq in rows}

    def record_unclaimed(
        self, payer: str, custom_id: str, started: float, completion: Completion
    ) -> None:
        """An answer in an adopted batch that this run's pool no longer asks for (the spec
        or the plan changed in between): paid for, so its cost is on the ledger."""
        with self.ledger.transaction(immediate=True):
            self.ledger.insert_paid_attempt(payer, POOL_STAGE, started, time.time(), completion)
            self.ledger.db.execute(
                "UPDATE batch_requests SET result='unused' WHERE custom_id=?", (custom_id,)
            )

    def figures(self, genre: str | None = None) -> PoolFigures:
        """Requests and ideas so far, for one genre or the whole run."""
        where, args = ("WHERE genre=?", (genre,)) if genre else ("", ())
        requests = self.ledger.db.execute(
            f"SELECT COUNT(*) FROM pool_requests {where}", args
        ).fetchone()[0]
        rows = self.ledger.db.execute(
            "SELECT i.verdict, COUNT(*) FROM pool_ideas i JOIN pool_requests r "
            f"ON r.id = i.request_id {where.replace('genre', 'r.genre')} GROUP BY i.verdict",
            args,
        )
        by = {str(v): int(n) for v, n in rows}
        return PoolFigures(
            requests=int(requests),
            asked=sum(by.values()),
            kept=by.get("kept", 0),
            duplicate=by.get("duplicate", 0),
            too_close=by.get("too_close", 0),
            missing=by.get("missing", 0),
        )

    def ideas_of(self, job_ids: Iterable[str]) -> dict[str, str]:
        """The pool idea kept for each of these jobs (tests and the report read them)."""
        sql = "SELECT job_id, text FROM pool_ideas WHERE verdict='kept' AND job_id IN ({ids})"
        rows = self._per_chunk(sql, list(job_ids))
        return {str(j): str(t) for chunk in rows for j, t in chunk}

    def _per_chunk(self, sql: str, ids: list[str], *head: object) -> Iterator[sqlite3.Cursor]:
        """`sql` run once per chunk of `ids`: `{ids}` in it becomes the chunk's placeholders,
        bound after the `head` parameters. SQLite caps the parameters of one statement."""
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            yield self.ledger.db.execute(sql.format(ids=marks), (*head, *chunk))
