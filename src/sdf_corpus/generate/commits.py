"""Group commit: finished stages reach the ledger in shared transactions, on the event loop.

A stage's task hands its answer over and waits until it is committed. The first
stage handed over schedules a commit for the loop's next turn; every stage that
finishes before then joins it, so under load hundreds of small transactions a
second become a few dozen larger ones (`Store.try_record_stages`), and at low
load a group is one stage: a commit per stage, as before.

The commit runs on the loop's own thread. It used to run on a writer thread,
to keep disk waits off the loop, but a busy loop holds the GIL and hands it to
another thread only every switch interval (5 ms), while the SQLite module gives it up and
takes it back around every statement: at C=256 a group of ~60 stages took
35-50 ms of waiting for 3 ms of work, and each stage waited ~150 ms for its
commit. On the loop a group costs its few milliseconds of CPU and nothing else
(WAL with synchronous=NORMAL does not sync at commit).

With `generate --workers N` another process may hold the write lock. SQLite's
busy handler would then sleep on the loop's thread, so the transaction is only
begun when the lock is free; otherwise the group waits a millisecond or more
(backing off to 20 ms) and is tried again, collecting the stages that finish
meanwhile. After `lock_timeout` seconds of a lock held throughout, every waiting
stage gets a one-line error naming the ledger (a busy timeout raised "database is
locked" with a traceback).

Nothing is held back on purpose: a kill loses only the requests in flight and
the answers waiting for the next turn, what a commit per stage could lose.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sdf_corpus.errors import InputError
from sdf_corpus.store import StageRecord, Store

__all__ = ["CommitQueue"]

# A bound on one transaction, so a backlog still commits in steps of bounded size.
MAX_GROUP = 512
_RETRY_FIRST, _RETRY_MAX = 0.001, 0.02

_Item = tuple[StageRecord, "asyncio.Future[None]"]


class CommitQueue:
    """`await commit(record)` returns once the record is in the ledger, or raises what
    its transaction raised. Opens its own connection, at once, so a ledger that
    cannot be opened raises to the caller before any stage waits."""

    def __init__(self, path: Path, backend: str, *, lock_timeout: float = 30.0) -> None:
        self._backend = backend
        self._store = Store(path)
        self._lock_timeout = lock_timeout
        self._pending: list[_Item] = []
        self._scheduled: asyncio.Handle | asyncio.TimerHandle | None = None
        self._retry = _RETRY_FIRST
        self._locked_since: float | None = None

    async def commit(self, record: StageRecord) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._pending.append((record, done))
        if self._scheduled is None:
            self._scheduled = loop.call_soon(self._flush)
        await done

    def close(self) -> None:
        """Commit what is still queued (waiting for the lock if need be), then close."""
        try:
            if self._scheduled is not None:
                self._scheduled.cancel()
                self._scheduled = None
            while self._pending:
                items = self._take()
                error: Exception | None = None
                try:
                    self._store.record_stages([r for r, _ in items], self._backend)
                except Exception as exc:
                    error = exc
                _settle(items, error)
        finally:
            self._store.close()

    def _take(self) -> list[_Item]:
        items, self._pending = self._pending[:MAX_GROUP], self._pending[MAX_GROUP:]
        return items

    def _flush(self) -> None:
        self._scheduled = None
        items = self._take()
        error: Exception | None = None
        try:
            written = self._store.try_record_stages([r for r, _ in items], self._backend)
        except Exception as exc:  # handed to every stage of the group, raised there
            error, written = exc, True
        if not written:
            if self._wait_for_lock(items):
                return
            error = InputError(
                str(self._store.path),
                f"another process held the ledger's write lock for {self._lock_timeout:g} s",
                "let the other run writing to this folder finish, or give this one its own",
            )
        self._locked_since, self._retry = None, _RETRY_FIRST
        _settle(items, error)
        if self._pending:
            self._scheduled = asyncio.get_running_loop().call_soon(self._flush)

    def _wait_for_lock(self, items: list[_Item]) -> bool:
        """Put the group back and try again shortly; False once the lock timeout passed."""
        now = time.monotonic()
        if self._locked_since is None:
            self._locked_since = now
        if now - self._locked_since >= self._lock_timeout:
            return False
        self._pending[:0] = items
        loop = asyncio.get_running_loop()
        self._scheduled = loop.call_later(self._retry, self._flush)
        self._retry = min(2 * self._retry, _RETRY_MAX)
        return True


def _settle(items: list[_Item], error: Exception | None) -> None:
    for _, done in items:
        if done.done():  # its task was cancelled (Ctrl-C): the commit stands regardless
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)
