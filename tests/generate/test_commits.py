"""Group commit: every handed-over stage lands with its attempt, a failed transaction
reaches every waiting stage, another process's write lock delays commits without
freezing the event loop, and an unusable ledger fails at once."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from runfiles import stub_job
from sdf_corpus.errors import InputError
from sdf_corpus.generate.commits import CommitQueue
from sdf_corpus.plan.job import Job
from sdf_corpus.sampling import Completion
from sdf_corpus.store import StageRecord, Store


def _answer(n: int) -> Completion:
    return Completion(text=f"text {n}", stop_reason="end_turn", input_tokens=3,
                      output_tokens=5, cost_usd=0.25, model="m")  # fmt: skip


def _ledger(path: Path, jobs: list[Job]) -> None:
    store = Store(path)
    try:
        store.sync_jobs(jobs)
    finally:
        store.close()


def _done(path: Path) -> int:
    store = Store(path)
    try:
        return store.totals().done
    finally:
        store.close()


def test_every_stage_handed_over_is_committed_with_its_attempt(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    jobs = [stub_job(n) for n in range(300)]
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
    jobs = [stub_job(n) for n in range(20)]
    _ledger(path, jobs)

    async def run() -> list[BaseException | None]:
        queue = CommitQueue(path, "anthropic")
        write = queue._store._write_stage

        def fail_on_job_13(record: StageRecord, backend: str, custom_id: str | None) -> None:
            if record.job.id == "job13":
                raise ValueError("disk says no")
            write(record, backend, custom_id)

        queue._store._write_stage = fail_on_job_13  # type: ignore[method-assign]
        try:
            return await asyncio.gather(
                *(queue.commit(StageRecord(j, "draft", _answer(0), 1.0, True)) for j in jobs),
                return_exceptions=True,
            )
        finally:
            queue.close()

    outcomes = asyncio.run(run())
    assert all(isinstance(o, ValueError) for o in outcomes), outcomes  # one group, all told
    assert _done(path) == 0  # nothing half-written


def test_a_lock_held_by_another_process_delays_commits_without_blocking_the_loop(
    tmp_path: Path,
) -> None:
    """Another writer (a second `--workers` process) holds the lock for 0.3 s: the
    stages wait and then land, and meanwhile the loop keeps running other tasks (a
    busy wait inside SQLite would freeze it)."""
    path = tmp_path / "ledger.sqlite"
    jobs = [stub_job(n) for n in range(50)]
    _ledger(path, jobs)
    other = sqlite3.connect(path, isolation_level=None)

    async def run() -> int:
        queue = CommitQueue(path, "anthropic")
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        other.execute("BEGIN IMMEDIATE")
        asyncio.get_running_loop().call_later(0.3, other.execute, "COMMIT")
        tick = asyncio.ensure_future(ticker())
        try:
            await asyncio.gather(
                *(queue.commit(StageRecord(j, "draft", _answer(1), 1.0, True)) for j in jobs)
            )
        finally:
            tick.cancel()
            queue.close()
        return ticks

    started = time.monotonic()
    ticks = asyncio.run(run())
    other.close()
    assert time.monotonic() - started >= 0.3  # waited for the lock
    assert ticks >= 15  # ~30 ticks of 10 ms while the lock was held
    assert _done(path) == 50


def test_a_lock_held_past_the_timeout_fails_every_waiting_stage(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    jobs = [stub_job(n) for n in range(10)]
    _ledger(path, jobs)
    blocker = sqlite3.connect(path, isolation_level=None)

    async def run() -> list[BaseException | None]:
        queue = CommitQueue(path, "anthropic", lock_timeout=0.05)
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
    assert all(isinstance(o, InputError) for o in outcomes), outcomes
    assert "write lock" in str(outcomes[0]) and str(path) in str(outcomes[0])
    assert _done(path) == 0


def test_a_ledger_that_cannot_be_opened_raises_before_any_stage_waits(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    path.write_bytes(b"not a database, " * 100)
    with pytest.raises(InputError, match="not an sdf-corpus ledger"):
        CommitQueue(path, "anthropic")
