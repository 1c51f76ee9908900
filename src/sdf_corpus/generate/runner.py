"""The immediate submitter: concurrent SDK calls under the executor's limits
(rate limits, retries with backoff, the spend cap, the circuit breaker), one
ledger commit per finished stage (grouped with the stages that finish in the same
turn of the event loop: generate/commits.py).

Deliberately plain asyncio: `concurrency` workers pull the next pending job, walk
its remaining stages, and commit each finished stage before asking for the next
one. Nothing is held back for a later write, so a kill loses only requests in
flight.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from collections.abc import Iterable, Iterator

from sdf_corpus.errors import BudgetError, ProviderError, ProviderStoppedError
from sdf_corpus.generate.backends.base import Backend
from sdf_corpus.generate.breaker import account_refusal
from sdf_corpus.generate.commits import CommitQueue
from sdf_corpus.generate.loop import GenerateResult, GenerationLoop, RunOptions
from sdf_corpus.generate.stages import RunBackends, StageExecutors, make_run_backends
from sdf_corpus.ideas.fill import CallerFor
from sdf_corpus.plan.job import Job
from sdf_corpus.pricing.prices import ModelPrice, resolve_price
from sdf_corpus.sampling import Completion, Request
from sdf_corpus.spec.load import Corpus
from sdf_corpus.store import StageRecord, Store

# GenerateResult and RunOptions live in loop.py; named here too because this is
# what callers of run_generation have always imported them from.
__all__ = [
    "GenerateResult",
    "ImmediateSubmitter",
    "RunOptions",
    "fill_ideas",
    "fill_pool_batched",
    "fill_pool_only",
    "make_run_backend",
    "price_for",
    "run_backend",
    "run_generation",
]


class ImmediateSubmitter:
    def __init__(
        self, ledger: Store, backend: Backend, executors: StageExecutors, concurrency: int
    ) -> None:
        # `backend`: the run's default, named on commits; each stage goes through the
        # executor of its own provider and model (generate/stages.py).
        self.ledger, self.backend, self.executors = ledger, backend, executors
        self.concurrency = concurrency
        # Stage commits go through one queue with its own connection, grouped per turn
        # of the event loop (generate/commits.py says why on the loop, not a thread).
        self._commits: CommitQueue | None = None

    @property
    def requests(self) -> int:
        return self.executors.requests

    async def run(self, loop: GenerationLoop) -> None:
        # With the budget loop on, it chooses each job (loop.next_job); else plan order.
        jobs = iter(loop.jobs(self.ledger.pending_jobs()) if loop.budget is None else ())
        self._commits = CommitQueue(self.ledger.path, self.backend.name)
        try:
            await asyncio.gather(*(self._worker(loop, jobs) for _ in range(self.concurrency)))
        finally:
            self._commits.close()

    async def _worker(self, loop: GenerationLoop, jobs: Iterator[Job]) -> None:
        while not loop.halted:
            job = await loop.next_job(jobs)
            if job is None:
                return
            try:
                ok = await self._run_job(loop, job)
            except (BudgetError, ProviderStoppedError) as exc:
                loop.halt(exc)
                return
            loop.finished(ok, job=job)

    async def _run_job(self, loop: GenerationLoop, job: Job) -> bool:
        walk = loop.walk(job, self.ledger.outputs(job.id))
        sent_final = False
        while (stage := walk.next_stage()) is not None:
            answer = await self._call(loop, job, stage.name, walk.request(stage))
            if answer is None:
                return False
            completion, started, provider = answer
            assert self._commits is not None  # set by run()
            final = walk.is_final(stage)
            record = StageRecord(
                job, stage.name, completion, started, final, provider, walk.next_key
            )
            # Awaited: the next stage starts only once this one is committed.
            await self._commits.commit(record)
            loop.paid(completion)
            walk.advance(stage, completion.text)
            sent_final = final
        if not sent_final:
            walk.finish_from_ledger()
        return True

    async def _call(
        self, loop: GenerationLoop, job: Job, stage: str, request: Request
    ) -> tuple[Completion, float, str] | None:
        executor = self.executors(job, stage)
        try:
            completion, started = await executor.call(job.id, stage, request)
            return completion, started, executor.backend.name
        except ProviderError as exc:
            # An account-level refusal (key, model id, credit) says nothing about the
            # job: it stays pending, so fixing the setting and re-running continues it.
            if account_refusal(exc) is None:
                self.ledger.fail_job(job, stage, exc)
            loop.error(type(exc).__name__)
        return None


async def run_generation(
    corpus: Corpus,
    ledger: Store,
    backends: RunBackends,
    options: RunOptions,
    price: ModelPrice | None,
) -> GenerateResult:
    """Every pending job (of `options.shard`, if set) through immediate requests, after
    the idea pool has filled their cells (docs/genres.md, "The idea pool")."""
    loop = GenerationLoop(corpus, ledger, options, price)
    executors = StageExecutors(corpus, backends, ledger, loop.guard)
    await fill_ideas(loop, ledger, executors.for_pool if options.fill_pool else None)
    if options.fill_pool:

        async def fill_wave(jobs: list[Job]) -> frozenset[str]:
            held = loop.held
            await fill_ideas(loop, ledger, executors.for_pool, jobs)
            return held | loop.held

        loop.fill_wave = fill_wave
    concurrency = corpus.spec.backend.concurrency
    submitter = ImmediateSubmitter(ledger, backends.default, executors, concurrency)
    return await loop.run(submitter)


async def fill_ideas(
    loop: GenerationLoop,
    ledger: Store,
    caller: CallerFor | None,
    jobs: Iterable[Job] | None = None,
    concurrency: int | None = None,
) -> None:
    """The idea pool for the loop's pending jobs; a stop (--max-cost, a provider that
    refuses) halts the loop, and the jobs still owed an idea wait for a later run.
    `caller` gives the executor of a genre's idea stage (its own model, limits and breaker);
    None sends nothing (a --workers process: its parent filled the pool). `jobs`: only
    these (a budget wave's new jobs), instead of every pending job the loop owns."""
    from sdf_corpus.ideas.fill import fill_pool

    try:
        pool = await fill_pool(
            loop.corpus,
            ledger,
            loop.pooled(ledger.pending_jobs()) if jobs is None else jobs,
            caller,
            concurrency=concurrency or loop.corpus.spec.backend.concurrency,
        )
    except (BudgetError, ProviderStoppedError) as exc:
        loop.halt(exc)
        return
    loop.held = pool.held_back
    for kind, n in pool.errors.items():
        for _ in range(n):
            loop.error(kind)
    for _ in range(pool.failed):
        loop.finished(False)
    if pool.exhausted:
        # Always said (not only with the progress bar): the plan will not reach these.
        cells = ", ".join(f"{cell} ({n})" for cell, n in sorted(pool.exhausted.items()))
        print(
            f"idea pool: {sum(pool.exhausted.values())} jobs set aside as pool_exhausted, "
            f"their cells saturated (no distinct idea in ideas.max_asks asks): {cells}",
            file=sys.stderr,
        )
    if pool.requests:
        loop.progress.say(
            f"idea pool: {pool.requests} list requests, {pool.kept} ideas kept, "
            f"{pool.dropped} dropped as repeats or missing"
        )


async def fill_pool_only(
    corpus: Corpus, ledger: Store, backends: RunBackends, options: RunOptions
) -> GenerateResult:
    """Fill the idea pool with immediate requests, then close the backend: what the
    parent of `--workers` does before forking (so cells have one owner and the ideas do
    not depend on the worker count) and what `--batch` does before its batches. Its
    `stopped` says whether the run must stop here (the spend cap); its `requests` are
    added to the result of the stages that follow."""
    price = price_for(corpus)
    loop = GenerationLoop(corpus, ledger, dataclasses.replace(options, progress=False), price)
    executors = StageExecutors(corpus, backends, ledger, loop.guard)
    try:
        await fill_ideas(loop, ledger, executors.for_pool)
    finally:
        await backends.aclose()
    if loop.stopped_by is not None:
        raise loop.stopped_by
    return GenerateResult(
        jobs_failed=loop.failed,
        requests=executors.requests,
        spent_usd=loop.guard.spent,
        stopped=loop.stopped,
        errors=dict(loop.errors),
    )


async def fill_pool_batched(
    corpus: Corpus, ledger: Store, backends: RunBackends, options: RunOptions
) -> GenerateResult:
    """`fill_pool_only` through the batch APIs (`--batch`): the same pool requests, in
    rounds of batches, at the batch price (ideas/batched.py)."""
    from sdf_corpus.generate.batch_clients import make_batch_clients
    from sdf_corpus.ideas.batched import PoolBatches

    await backends.aclose()  # nothing goes out immediately
    price = price_for(corpus)
    quiet = dataclasses.replace(options, progress=False)
    loop = GenerationLoop(corpus, ledger, quiet, price, batch=True)
    clients = make_batch_clients(corpus)  # a missing key raises before anything is sent
    pool = PoolBatches(corpus, ledger, clients, loop.guard, loop.progress.say)
    try:
        await pool.start()
        # Every cell's next request in one round: no cap below the batch's own.
        await fill_ideas(loop, ledger, pool, concurrency=corpus.spec.backend.batch.max_requests)
        if loop.stopped_by is None:
            await pool.finish()
    finally:
        for client in clients.values():
            await client.aclose()
    if pool.error is not None:  # what ended the pool's batches, as the jobs' batches say it
        pool.error.args = (f"batch request failed: {pool.error}",)
        raise pool.error
    ambiguous = pool.ambiguous  # the intent waits for the next run to adopt (exit 4)
    if loop.stopped_by is not None and not ambiguous:
        raise loop.stopped_by
    return GenerateResult(
        jobs_failed=loop.failed,
        requests=pool.requests,
        spent_usd=loop.guard.spent,
        stopped="ambiguous_create" if ambiguous else loop.stopped,
        errors=dict(loop.errors),
    )


def price_for(corpus: Corpus) -> ModelPrice | None:
    """The generation model's price, for the --max-cost guard's worst-case reservation."""
    backend = corpus.spec.backend
    return resolve_price(corpus.spec.prices, backend.provider, backend.model)[0]


def make_run_backend(corpus: Corpus) -> RunBackends:
    """A backend per provider and model of the run (one unless stages name others)."""
    return make_run_backends(corpus)


async def run_backend(
    corpus: Corpus, ledger: Store, backend: RunBackends, options: RunOptions
) -> GenerateResult:
    try:
        return await run_generation(corpus, ledger, backend, options, price_for(corpus))
    finally:
        await backend.aclose()
