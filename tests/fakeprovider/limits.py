"""A hard rate limit for the fake provider, with the headers real providers send.

A token bucket per kind (requests, input tokens), as Anthropic and OpenAI
describe theirs: `limit` units, refilled continuously so the bucket is full
again `window` seconds after it was empty. Real limits are per minute; the
window is configurable so a test can watch many windows go by in seconds.
Every answer carries the bucket state in its API's header dialect:

    anthropic-ratelimit-requests-limit / -remaining / -reset (RFC 3339 time)
    x-ratelimit-limit-requests / x-ratelimit-remaining-requests / -reset-requests ("1.5s")

and a request that finds the bucket empty gets a 429 with retry-after.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, datetime

__all__ = ["RateLimit"]


class _Bucket:
    def __init__(self, limit: float, window: float) -> None:
        self.limit, self.rate = float(limit), float(limit) / window
        self.level, self.stamp = float(limit), time.monotonic()

    def refill(self, now: float) -> None:
        self.level = min(self.limit, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def seconds_to_full(self) -> float:
        return (self.limit - self.level) / self.rate

    def seconds_until(self, amount: float) -> float:
        return max(0.0, (min(amount, self.limit) - self.level) / self.rate)


class RateLimit:
    """Requests (and optionally input tokens) per `window` seconds; thread-safe."""

    def __init__(self, requests: int, *, tokens: int | None = None, window: float = 60.0) -> None:
        self.buckets = {"requests": _Bucket(requests, window)}
        if tokens:
            self.buckets["tokens"] = _Bucket(tokens, window)
        self._lock = threading.Lock()
        self.answers: list[tuple[float, int]] = []  # (time, status) of every limited request

    def admit(self, tokens: int) -> float:
        """0.0 if the request may proceed (and is charged), else seconds to wait."""
        cost = {"requests": 1.0, "tokens": float(tokens)}
        with self._lock:
            now = time.monotonic()
            for bucket in self.buckets.values():
                bucket.refill(now)
            wait = max(b.seconds_until(cost[k]) for k, b in self.buckets.items())
            if wait <= 0:
                for kind, bucket in self.buckets.items():
                    bucket.level -= min(cost[kind], bucket.limit)
            self.answers.append((time.time(), 200 if wait <= 0 else 429))
            return wait

    def headers(self, *, openai: bool) -> dict[str, str]:
        """The bucket state in the dialect of the API that answers."""
        out: dict[str, str] = {}
        with self._lock:
            now, wall = time.monotonic(), time.time()
            for kind, bucket in self.buckets.items():
                bucket.refill(now)
                to_full = bucket.seconds_to_full()
                remaining = str(max(0, math.floor(bucket.level)))
                reset = datetime.fromtimestamp(wall + to_full, UTC).isoformat(
                    timespec="milliseconds"
                )
                if openai:
                    out[f"x-ratelimit-limit-{kind}"] = str(int(bucket.limit))
                    out[f"x-ratelimit-remaining-{kind}"] = remaining
                    out[f"x-ratelimit-reset-{kind}"] = f"{to_full:.3f}s"
                else:
                    out[f"anthropic-ratelimit-{kind}-limit"] = str(int(bucket.limit))
                    out[f"anthropic-ratelimit-{kind}-remaining"] = remaining
                    out[f"anthropic-ratelimit-{kind}-reset"] = reset.replace("+00:00", "Z")
        return out

    def count(self, status: int, since: float = 0.0, until: float = math.inf) -> int:
        with self._lock:
            return sum(1 for t, s in self.answers if s == status and since <= t < until)
