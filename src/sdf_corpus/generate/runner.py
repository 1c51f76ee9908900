"""Drive pending jobs through a backend: bounded concurrency, rate limits,
retries with backoff, a spend cap, progress, and a ledger commit per stage.

The loop is deliberately plain asyncio: `concurrency` workers pull the next
pending job, run its remaining stages, and commit each finished stage before
asking for the next one. Nothing is held back for a later write, so a kill
loses only requests in flight.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from tqdm import tqdm

from sdf_corpus.errors import BudgetError, ProviderError, ProviderStoppedError
from sdf_corpus.generate.backends.base import Backend, Completion, Request
from sdf_corpus.generate.breaker import account_refusal
from sdf_corpus.generate.chain import build_request, parse_output, stages_for
from sdf_corpus.generate.executor import CostGuard, Executor
from sdf_corpus.generate.ledger import Ledger
from sdf_corpus.generate.pricing import ModelPrice
from sdf_corpus.generate.shard import Shard
from sdf_corpus.plan.job import Job
from sdf_corpus.prompts import job_context
from sdf_corpus.spec.load import Corpus

__all__ = ["GenerateResult", "RunOptions", "run_generation"]


@dataclass(frozen=True)
class RunOptions:
    max_cost: float | None = None
    progress: bool = True
    shard: Shard | None = None  # run only the pending jobs of this slice (a --workers process)


@dataclass
class GenerateResult:
    jobs_done: int = 0
    jobs_failed: int = 0
    requests: int = 0
    spent_usd: float = 0.0
    stopped: str = "complete"  # complete | max_cost | provider
    errors: dict[str, int] = field(default_factory=dict)


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
        self.provider = corpus.spec.backend.provider
        self.guard = CostGuard(options.max_cost, ledger.totals().cost_usd, price)
        self.executor = Executor(backend, corpus.spec.backend, ledger, self.guard)
        self.result = GenerateResult()
        self.stop = False
        self.stopped_by: ProviderStoppedError | None = None
        self.bar: tqdm | None = None
        # Stage commits run on one thread with its own connection: a commit waits on
        # disk (WAL writes, checkpoints) for ~0.2-0.3 ms, which on the event loop
        # would stall every request in flight; sqlite releases the GIL meanwhile.
        self._commits = ThreadPoolExecutor(1, thread_name_prefix="ledger-commit")
        self._writer: Ledger | None = None

    async def run(self, concurrency: int) -> GenerateResult:
        totals = self.ledger.totals()
        jobs = self.ledger.pending_jobs()
        shard = self.options.shard
        if shard is not None:
            jobs = (job for job in jobs if shard.owns(job.id))
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
            self._commits.submit(self._close_writer).result()
            self._commits.shutdown()
        self.result.spent_usd = self.guard.spent
        self.result.requests = self.executor.requests
        if self.stopped_by is not None:
            raise self.stopped_by  # after every worker has committed what it had
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
            except ProviderStoppedError as exc:
                self.stop, self.result.stopped, self.stopped_by = True, "provider", exc
                return
            if ok:
                self.result.jobs_done += 1
            else:
                self.result.jobs_failed += 1
            assert self.bar is not None
            self.bar.update(1)
            self.bar.set_postfix_str(
                f"{self.executor.tokens_out:,} tok out, ${self.guard.spent:.4f}", refresh=False
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
            record = functools.partial(
                self._record, job, stage.name, completion, started, i == len(stages) - 1
            )
            # Awaited: the next stage starts only once this one is committed.
            await asyncio.get_running_loop().run_in_executor(self._commits, record)
            context["stages"][stage.name] = parse_output(stage, completion.text, job)
        return True

    def _record(
        self, job: Job, stage: str, completion: Completion, started: float, final: bool
    ) -> None:
        if self._writer is None:
            self._writer = Ledger(self.ledger.path)
        self._writer.record_stage(job, stage, completion, self.backend.name, started, final=final)

    def _close_writer(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    async def _call(
        self, job: Job, stage: str, request: Request
    ) -> tuple[Completion, float] | None:
        try:
            return await self.executor.call(job.id, stage, request)
        except ProviderError as exc:
            # An account-level refusal (key, model id, credit) says nothing about the
            # job: it stays pending, so fixing the setting and re-running continues it.
            if account_refusal(exc) is None:
                self.ledger.fail_job(job, stage, exc)
            name = type(exc).__name__
            self.result.errors[name] = self.result.errors.get(name, 0) + 1
        return None


async def run_generation(
    corpus: Corpus, ledger: Ledger, backend: Backend, options: RunOptions, price: ModelPrice | None
) -> GenerateResult:
    runner = Runner(corpus, ledger, backend, options, price)
    return await runner.run(corpus.spec.backend.concurrency)
