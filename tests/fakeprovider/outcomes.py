"""Injected batch outcomes, shared by the two fake batch APIs (Anthropic's and OpenAI's).

A test queues outcomes, each for one custom id or for whichever request comes next; a
processed request takes the first outcome queued for its own id, else the first one queued
for no id, else none (and is answered normally).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from typing import Generic, Protocol, TypeVar

__all__ = ["OutcomeQueue"]


class _Targeted(Protocol):
    @property
    def custom_id(self) -> str | None: ...


T = TypeVar("T", bound=_Targeted)


class OutcomeQueue(Generic[T]):
    """Thread-safe: tests add from their thread while the server's loop takes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[T] = deque()

    def add(self, outcomes: Iterable[T]) -> None:
        with self._lock:
            self._queue.extend(outcomes)

    def take(self, custom_id: str) -> T | None:
        """The outcome queued for `custom_id`, else the first untargeted one, else None."""
        with self._lock:
            for wanted in (custom_id, None):
                for outcome in self._queue:
                    if outcome.custom_id == wanted:
                        self._queue.remove(outcome)
                        return outcome
        return None
