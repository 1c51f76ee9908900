"""The group-commit writer: every handed-over stage lands with its attempt, a failed
transaction reaches every waiting stage, and an unusable ledger fails at once."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from sdf_corpus.errors import InputError
from sdf_corpus.generate.backends.base import Completion
from sdf_corpus.generate.commits import CommitQueue
from sdf_corpus.plan.job import Job
from sdf_corpus.store import StageRecord, Store


def _job(n: int) -> Job:
    return Job(
        id=f"job{n}", index=n, round=0, corpus="t", genre="blog_post",
        principle_id="p1", ai_id="subject", author_id="", author_role="", audience_id="",
        about="subject",
    )  # fmt: skip


def _answer(n: int) -> Completion:
    return Completion(text=f"text {n}", stop_reason="end_turn", input_tokens=3,
                      output_tokens=5, cost_usd=0.25, model="m")  # fmt: skip


def _ledger(path: Path, jobs: list[Job]) -> None:
    store = Store(path)
    try:
        store.sync_jobs(jobs)
    finally:
        store.close()


def test_every_stage_handed_over_is_committed_with_its_attempt(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    jobs = [_job(n) for n in range(300)]
    _ledger(path, jobs)

    async def run() -> None:
        queue = CommitQueue(path, "anthropic")
        try:
            # All at once, so most of them wait behind a commit and go in as a group.
            await asyncio.gather(
                *(queue.commit(StageRecord(j, "draft", _answer(j.index), 1.0, True)) for j in jobs)
            )
        finally:
            queue.close()

    asyncio.run(run())
    store = Store(path)
    try:
        totals = store.totals()
        assert totals.done == 300
        assert totals.cost_usd == pytest.approx(300 * 0.25)
        assert store.outputs("job7")["draft"].text == "text 7"
    finally:
        store.close()


def test_a_failed_transaction_reaches_every_waiting_stage(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    jobs = [_job(n) for n in range(20)]
    _ledger(path, jobs)
    blocker = sqlite3.connect(path, timeout=0)
    blocker.execute("PRAGMA busy_timeout=0")

    async def run() -> list[BaseException | None]:
        queue = CommitQueue(path, "anthropic")
        queue._store.db.execute("PRAGMA busy_timeout=50")  # fail fast on the held lock
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock throughout
        try:
            return await asyncio.gather(
                *(queue.commit(StageRecord(j, "draft", _answer(0), 1.0, True)) for j in jobs),
                return_exceptions=True,
            )
        finally:
            blocker.execute("ROLLBACK")
            queue.close()

    outcomes = asyncio.run(run())
    blocker.close()
    assert all(isinstance(o, sqlite3.OperationalError) for o in outcomes), outcomes
    store = Store(path)
    try:
        assert store.totals().done == 0  # nothing half-written
    finally:
        store.close()


def test_a_ledger_that_cannot_be_opened_raises_before_any_stage_waits(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    path.write_bytes(b"not a database, " * 100)
    with pytest.raises(InputError, match="not an sdf-corpus ledger"):
        CommitQueue(path, "anthropic")
