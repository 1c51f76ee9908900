"""Drive pending jobs through a backend: bounded concurrency, rate limits,
retries with backoff, a spend cap, progress, and a ledger commit per stage.

The loop is deliberately plain asyncio: `concurrency` workers pull the next
pending job, run its remaining stages, and commit each finished stage before
asking for the next one. Nothing is held back for a later write, so a kill
loses only requests in flight.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from aiolimiter import AsyncLimiter
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)
from tqdm import tqdm

from sdf_corpus.errors import BudgetError
from sdf_corpus.generate.backends.base import (
    Backend,
    Completion,
    ProviderError,
    Request,
    RetryableError,
)
from sdf_corpus.generate.chain import build_request, parse_output, stages_for
from sdf_corpus.generate.ledger import Ledger
from sdf_corpus.generate.pricing import ModelPrice, cost_usd
from sdf_corpus.plan.job import Job
from sdf_corpus.prompts import job_context
from sdf_corpus.spec.load import Corpus

__all__ = ["GenerateResult", "RunOptions", "run_generation"]


@dataclass(frozen=True)
class RunOptions:
    max_cost: float | None = None
    progress: bool = True


@dataclass
class GenerateResult:
    jobs_done: int = 0
    jobs_failed: int = 0
    requests: int = 0
    spent_usd: float = 0.0
    stopped: str = "complete"  # complete | max_cost
    errors: dict[str, int] = field(default_factory=dict)


class _CostGuard:
    """Refuses a request whose worst case would take spend past --max-cost."""

    def __init__(self, limit: float | None, spent: float, price: ModelPrice | None) -> None:
        self.limit, self.spent, self.price, self.reserved = limit, spent, price, 0.0

    def worst_case(self, request: Request) -> float:
        if self.price is None:
            return 0.0
        chars = len(request.prompt) + len(request.system) + len(request.cache_prefix)
        return cost_usd(self.price, chars // 3 + 1, request.max_tokens)

    def reserve(self, request: Request) -> float:
        estimate = self.worst_case(request)
        if self.limit is not None and self.spent + self.reserved + estimate > self.limit:
            raise BudgetError(
                f"stopping before --max-cost {self.limit:.2f} USD would be crossed "
                f"(spent {self.spent:.4f}, in flight up to {self.reserved:.4f})"
            )
        self.reserved += estimate
        return estimate

    def settle(self, estimate: float, actual: float) -> None:
        self.reserved -= estimate
        self.spent += actual


class _Wait:
    """Exponential backoff with jitter that never undercuts the provider's retry-after."""

    def __init__(self, base: float, cap: float) -> None:
        self.backoff = wait_exponential_jitter(multiplier=base, max=cap, jitter=base)

    def __call__(self, state: RetryCallState) -> float:
        delay = float(self.backoff(state))
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        return max(delay, float(retry_after)) if retry_after else delay


class Runner:
    def __init__(
        self,
        corpus: Corpus,
        ledger: Ledger,
        backend: Backend,
        options: RunOptions,
        price: ModelPrice | None,
    ) -> None:
        self.corpus, self.ledger, self.backend, self.options = corpus, ledger, backend, options
        spec = corpus.spec.backend
        self.provider = spec.provider
        self.max_attempts = spec.max_attempts
        self.retry_delays = (spec.retry_base_delay, spec.retry_max_delay)
        self.rpm = AsyncLimiter(spec.requests_per_minute, 60) if spec.requests_per_minute else None
        self.tpm = AsyncLimiter(spec.tokens_per_minute, 60) if spec.tokens_per_minute else None
        self.guard = _CostGuard(options.max_cost, ledger.totals().cost_usd, price)
        self.result = GenerateResult()
        self.stop = False
        self.bar: tqdm | None = None
        self.tokens = 0

    async def run(self, concurrency: int) -> GenerateResult:
        totals = self.ledger.totals()
        jobs = _paged(self.ledger)
        self.bar = tqdm(
            total=totals.jobs,
            initial=totals.done + totals.failed,
            unit="doc",
            desc="generate",
            disable=not self.options.progress,
            mininterval=0.5,
            dynamic_ncols=True,
        )
        try:
            await asyncio.gather(*(self._worker(jobs) for _ in range(concurrency)))
        finally:
            self.bar.close()
        self.result.spent_usd = self.guard.spent
        return self.result

    async def _worker(self, jobs: Iterator[Job]) -> None:
        while not self.stop:
            job = next(jobs, None)
            if job is None:
                return
            try:
                ok = await self._run_job(job)
            except BudgetError:
                self.stop, self.result.stopped = True, "max_cost"
                return
            if ok:
                self.result.jobs_done += 1
            else:
                self.result.jobs_failed += 1
            assert self.bar is not None
            self.bar.update(1)
            self.bar.set_postfix_str(
                f"{self.tokens:,} tok out, ${self.guard.spent:.4f}", refresh=False
            )

    async def _run_job(self, job: Job) -> bool:
        genre = self.corpus.genres[job.genre]
        stages = stages_for(genre, self.provider)
        done = self.ledger.outputs(job.id)
        context = job_context(self.corpus, job)
        for i, stage in enumerate(stages):
            if stage.name in done:
                context["stages"][stage.name] = parse_output(stage, done[stage.name].text, job)
                continue
            request = build_request(self.corpus, job, stage, context, self.provider)
            answer = await self._call(job, stage.name, request)
            if answer is None:
                return False
            completion, started = answer
            self.ledger.record_stage(
                job, stage.name, completion, self.backend.name, started, final=i == len(stages) - 1
            )
            context["stages"][stage.name] = parse_output(stage, completion.text, job)
        return True

    async def _call(
        self, job: Job, stage: str, request: Request
    ) -> tuple[Completion, float] | None:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=_Wait(self.retry_delays[0], self.retry_delays[1]),
            retry=retry_if_exception_type(RetryableError),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(job, stage, request)
        except ProviderError as exc:
            self.ledger.fail_job(job, stage, exc)
            self.result.errors[type(exc).__name__] = (
                self.result.errors.get(type(exc).__name__, 0) + 1
            )
        return None

    async def _attempt(self, job: Job, stage: str, request: Request) -> tuple[Completion, float]:
        estimate = self.guard.reserve(request)
        actual = 0.0
        if self.rpm:
            await self.rpm.acquire()
        if self.tpm:
            await self.tpm.acquire(
                min(self.tpm.max_rate, request.max_tokens + len(request.prompt) // 4)
            )
        started = time.time()
        try:
            self.result.requests += 1
            completion = await self.backend.complete(request)
            actual = completion.cost_usd
            self.tokens += completion.output_tokens
            return completion, started
        except ProviderError as exc:
            retryable = isinstance(exc, RetryableError)
            self.ledger.record_error(
                job, stage, started, exc, status=exc.status, fatal=not retryable
            )
            raise
        finally:
            self.guard.settle(estimate, actual)


def _paged(ledger: Ledger, page: int = 2000) -> Iterator[Job]:
    """Pending jobs in plan order, a page at a time, so 500k jobs never sit in memory."""
    last = -1
    while True:
        rows = ledger.db.execute(
            "SELECT idx, payload FROM jobs WHERE active=1 AND status='pending' AND idx>? "
            "ORDER BY idx LIMIT ?",
            (last, page),
        ).fetchall()
        if not rows:
            return
        for idx, payload in rows:
            last = idx
            yield Job.from_json(payload)


async def run_generation(
    corpus: Corpus, ledger: Ledger, backend: Backend, options: RunOptions, price: ModelPrice | None
) -> GenerateResult:
    runner = Runner(corpus, ledger, backend, options, price)
    return await runner.run(corpus.spec.backend.concurrency)
