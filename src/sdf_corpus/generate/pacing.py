"""Pacing to the provider's own rate limits, read from its response headers.

Providers say how much of their limit is left on every answer: Anthropic as
`anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}` (reset an
RFC 3339 time), OpenAI-style servers (and litellm, which passes them on) as
`x-ratelimit-{limit,remaining,reset}-{requests,tokens}` (reset a duration such
as "1s" or "6m0s"). Both describe a token bucket: `remaining` of `limit` is
left and it is full again at `reset`, so the refill rate is
(limit - remaining) / seconds-to-reset.

The pacer keeps a local mirror of each bucket: it takes from it before a
request, re-syncs it from every answer (minus what is still in flight, which
the provider had not yet counted), and waits for the refill when it runs dry.
A run with no limits configured thus settles just under the provider's limit
instead of living on 429s; a 429 that still arrives pauses every worker for
its retry-after, not only the one that got it.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

__all__ = ["RateLimits", "RatePacer", "parse_rate_headers"]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
# Limits are per minute at every provider we know; used until a reset is seen.
_DEFAULT_WINDOW = 60.0


@dataclass(frozen=True, slots=True)
class RateLimits:
    """One bucket as an answer described it: (limit, remaining, seconds to full)."""

    limit: float
    remaining: float
    reset: float | None


def _seconds_until(value: str, now: float) -> float | None:
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    parts = _DURATION.findall(value)
    if parts and "".join(n + u for n, u in parts) == value.replace(" ", ""):
        return sum(float(n) * _UNIT[u] for n, u in parts)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return max(0.0, moment.timestamp() - now)


def _bucket(headers: Mapping[str, str], names: tuple[str, str, str]) -> RateLimits | None:
    limit, remaining, reset = (headers.get(n) for n in names)
    if limit is None or remaining is None:
        return None
    try:
        lim, rem = float(limit), float(remaining)
    except ValueError:
        return None
    return RateLimits(lim, rem, _seconds_until(reset, time.time()) if reset else None)


def parse_rate_headers(headers: Mapping[str, str]) -> dict[str, RateLimits]:
    """{"requests": ..., "tokens": ...} from Anthropic or OpenAI-style headers
    (litellm's "llm_provider-" copies included); absent buckets are left out."""
    flat = {k.lower().removeprefix("llm_provider-"): str(v) for k, v in headers.items()}
    out: dict[str, RateLimits] = {}
    for kind in ("requests", "tokens"):
        anthropic = tuple(
            f"anthropic-ratelimit-{kind}-{p}" for p in ("limit", "remaining", "reset")
        )
        openai = tuple(f"x-ratelimit-{p}-{kind}" for p in ("limit", "remaining", "reset"))
        found = _bucket(flat, anthropic) or _bucket(flat, openai)  # type: ignore[arg-type]
        if found is not None:
            out[kind] = found
    return out


class _Mirror:
    """Our copy of one provider bucket, refilled at the rate its headers imply."""

    def __init__(self) -> None:
        self.limit = self.level = self.rate = self.stamp = 0.0
        self.known = False

    def refill(self, now: float) -> None:
        if self.known:
            self.level = min(self.limit, self.level + self.rate * (now - self.stamp))
        self.stamp = now

    def wait(self, cost: float, now: float) -> float:
        self.refill(now)
        cost = min(cost, self.limit)
        if not self.known or self.level >= cost:
            return 0.0
        return (cost - self.level) / self.rate if self.rate > 0 else 1.0

    def sync(self, seen: RateLimits, in_flight: float, now: float) -> None:
        used = seen.limit - seen.remaining
        if seen.reset and seen.reset > 0 and used >= 1:
            observed = used / seen.reset
            # Reset times come rounded (whole seconds on some providers): smooth them.
            self.rate = observed if self.rate == 0 else 0.8 * self.rate + 0.2 * observed
        elif self.rate == 0:
            self.rate = seen.limit / _DEFAULT_WINDOW
        self.limit, self.level, self.stamp, self.known = (
            seen.limit,
            seen.remaining - in_flight,
            now,
            True,
        )


class RatePacer:
    """Admits requests at the pace the provider's headers allow (shared by every worker)."""

    def __init__(
        self,
        enabled: bool = True,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.enabled, self.clock, self.sleep = enabled, clock, sleep
        self.buckets = {"requests": _Mirror(), "tokens": _Mirror()}
        # Requests sent and not yet answered: ticket -> tokens, in sending order.
        self.in_flight: dict[int, float] = {}
        self.sent = 0
        self.paused_until = 0.0
        self.waited = 0.0  # seconds spent waiting for the provider's buckets

    async def acquire(self, tokens: int) -> int:
        """Wait for room in both buckets, take it; the ticket goes back to `release`."""
        cost = {"requests": 1.0, "tokens": float(tokens)}
        while self.enabled:
            now = self.clock()
            wait = max(
                self.paused_until - now,
                *(self.buckets[k].wait(cost[k], now) for k in cost),
            )
            if wait <= 0:
                break
            self.waited += wait
            await self.sleep(min(wait, 5.0))
        for kind, amount in cost.items():
            self.buckets[kind].level -= amount
        self.sent += 1
        self.in_flight[self.sent] = float(tokens)
        return self.sent

    def release(
        self, ticket: int, headers: Mapping[str, str] | None, retry_after: float | None = None
    ) -> None:
        self.in_flight.pop(ticket, None)
        if not self.enabled:
            return
        now = self.clock()
        seen = parse_rate_headers(headers or {})
        if seen:
            # The provider counted this request and (roughly) those sent before it;
            # the ones sent after it are still to be taken off its figure.
            later = [t for n, t in self.in_flight.items() if n > ticket]
            pending = {"requests": float(len(later)), "tokens": sum(later)}
            for kind, limits in seen.items():
                self.buckets[kind].sync(limits, pending[kind], now)
        if retry_after:
            self.paused_until = max(self.paused_until, now + retry_after)
