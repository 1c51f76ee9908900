"""Group commit: finished stages reach the ledger through one writer thread.

A stage's task hands its answer over and waits until it is committed; the
writer takes everything that finished while its previous transaction ran and
commits it in the next one (`Store.record_stages`). Under load this turns
hundreds of small transactions a second into a few dozen larger ones, which
matters most with `generate --workers N`: each transaction takes the ledger's
write lock, and SQLite's busy handler makes the other processes sleep in
millisecond steps while one holds it. At low load a group is one stage, and
the behaviour is a commit per stage as before.

Nothing is held back on purpose: the writer starts on a stage the moment it is
idle, so a kill loses only the requests in flight and the answers queued for
the transaction under way, exactly what a commit per stage could lose.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from pathlib import Path

from sdf_corpus.store import StageRecord, Store

__all__ = ["CommitQueue"]

# A bound on one transaction, so a backlog still commits in steps of bounded size.
MAX_GROUP = 512

_Item = tuple[StageRecord, "asyncio.Future[None]"]


class CommitQueue:
    """One writer thread with its own connection (opened for use from any thread);
    `await commit(record)` returns once the record is in the ledger, or raises what
    the transaction raised."""

    def __init__(self, path: Path, backend: str) -> None:
        self._backend = backend
        # Opened here, not in the thread: a ledger that cannot be opened raises to the
        # caller at once, instead of leaving every stage waiting on a writer that died.
        self._store = Store(path)
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="ledger-commit", daemon=True)
        self._thread.start()

    async def commit(self, record: StageRecord) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put((record, done))
        await done

    def close(self) -> None:
        """Commit what is queued, then stop the writer."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        try:
            while (group := self._next_group()) is not None:
                items, last = group
                self._write(items)
                if last:
                    return
        finally:
            self._store.close()

    def _next_group(self) -> tuple[list[_Item], bool] | None:
        """What is queued now (waiting for the first item); True once close() was seen."""
        first = self._queue.get()
        if first is None:
            return None
        items = [first]
        while len(items) < MAX_GROUP:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return items, True
            items.append(item)
        return items, False

    def _write(self, items: list[_Item]) -> None:
        error: BaseException | None = None
        try:
            self._store.record_stages([record for record, _ in items], self._backend)
        except BaseException as exc:  # handed to every waiting stage, raised there
            error = exc
        futures = [done for _, done in items]
        futures[0].get_loop().call_soon_threadsafe(_settle, futures, error)


def _settle(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for done in futures:
        if done.done():  # its task was cancelled (Ctrl-C): the commit stands regardless
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)
