"""Sending one request well: rate limits (configured, and the provider's own
headers), retries with backoff, the spend cap, the circuit breaker, and a
ledger row for every attempt. Shared by generation and the judge."""

from __future__ import annotations

import time

from aiolimiter import AsyncLimiter
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from sdf_corpus.errors import ProviderError, RetryableError
from sdf_corpus.generate.backends.base import Backend
from sdf_corpus.generate.breaker import CircuitBreaker
from sdf_corpus.generate.pacing import RatePacer
from sdf_corpus.generate.spend import CostGuard
from sdf_corpus.pricing.prices import ModelPrice
from sdf_corpus.sampling import Completion, Request
from sdf_corpus.spec.models import BackendSpec
from sdf_corpus.store import Store

# CostGuard lives in spend.py; named here too because an Executor is built with one.
__all__ = ["CostGuard", "Executor"]


class _Wait:
    """Exponential backoff with jitter that never undercuts the provider's retry-after."""

    def __init__(self, base: float, cap: float) -> None:
        self.backoff = wait_exponential_jitter(multiplier=base, max=cap, jitter=base)

    def __call__(self, state: RetryCallState) -> float:
        delay = float(self.backoff(state))
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        return max(delay, float(retry_after)) if retry_after else delay


class Executor:
    """Calls a backend under the run's limits; raises ProviderError once retries are spent."""

    def __init__(
        self,
        backend: Backend,
        spec: BackendSpec,
        ledger: Store,
        guard: CostGuard,
        *,
        setting: str = "backend",
        price: ModelPrice | None = None,
    ) -> None:
        self.backend, self.ledger, self.guard = backend, ledger, guard
        self.price = price  # this backend's model, when it is not the run's default
        self.breaker = CircuitBreaker(
            spec.breaker_threshold,
            provider=backend.name,
            endpoint=str(getattr(backend, "endpoint", "") or spec.api_base or "(default URL)"),
            setting=setting,
            connect_grace=spec.connect_grace,
        )
        self.pacer = RatePacer(spec.pace_to_headers)
        self.max_attempts = spec.max_attempts
        self.wait = _Wait(spec.retry_base_delay, spec.retry_max_delay)
        self.rpm = AsyncLimiter(spec.requests_per_minute, 60) if spec.requests_per_minute else None
        self.tpm = AsyncLimiter(spec.tokens_per_minute, 60) if spec.tokens_per_minute else None
        self.requests = 0

    async def call(self, key: str, stage: str, request: Request) -> tuple[Completion, float]:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self.wait,
            retry=retry_if_exception_type(RetryableError),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(key, stage, request)
        except RetryableError as exc:
            self.breaker.gave_up(exc)
            raise
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def _attempt(self, key: str, stage: str, request: Request) -> tuple[Completion, float]:
        self.breaker.check()
        estimate = self.guard.reserve(request, self.price)
        actual = 0.0
        tokens = request.max_tokens + (len(request.prompt) + len(request.cache_prefix)) // 4
        headers, retry_after = None, None
        if self.rpm:
            await self.rpm.acquire()
        if self.tpm:
            await self.tpm.acquire(
                min(self.tpm.max_rate, request.max_tokens + len(request.prompt) // 4)
            )
        ticket = await self.pacer.acquire(tokens)
        started = time.time()
        try:
            self.breaker.check()  # it may have tripped while this request waited its turn
            self.requests += 1
            completion = await self.backend.complete(request)
            actual, headers = completion.cost_usd, completion.rate_headers
            self.breaker.success()
            return completion, started
        except ProviderError as exc:
            retryable = isinstance(exc, RetryableError)
            if isinstance(exc, RetryableError) and exc.status == 429:
                # The provider's limit was hit anyway: every worker waits, not just this one.
                retry_after = 1.0 if exc.retry_after is None else exc.retry_after
            self.ledger.record_error(
                key, stage, started, exc, status=exc.status, fatal=not retryable
            )
            self.breaker.failure(exc)  # raises ProviderStoppedError when the run must stop
            raise
        finally:
            self.guard.settle(estimate, actual)
            self.pacer.release(ticket, headers, retry_after)
