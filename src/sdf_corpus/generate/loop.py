"""The generation loop both ways of sending share: immediate requests
(`runner.py`) and the Message Batches API (`batch.py`) are two submitters of it.

The loop owns what must not differ between them:
- the stage walk (`StageWalk`): which stage of a job comes next, its request,
  and the context the later stages read from the earlier ones' outputs;
- the spend cap (`spend.CostGuard`, one worst-case formula);
- one progress display (documents, output tokens, spend, ETA);
- how the run stops, and the typed result.

A submitter only decides how requests travel: `Submitter.run(loop)` pulls
jobs, sends their stages, commits each answer to the ledger and reports
through `loop.finished`, `loop.paid` and `loop.halt`.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from tqdm import tqdm

from sdf_corpus.budget.loop import BudgetLoop
from sdf_corpus.chain import build_request, parse_output, stage_key, stages_for
from sdf_corpus.errors import BudgetError, ProviderStoppedError
from sdf_corpus.generate.spend import CostGuard
from sdf_corpus.ideas.cells import kept_pool_key, pooled_stage
from sdf_corpus.plan.job import Job
from sdf_corpus.plan.shard import Shard
from sdf_corpus.pricing.prices import ModelPrice
from sdf_corpus.prompts import job_context
from sdf_corpus.sampling import Completion, Request
from sdf_corpus.spec.genres import Stage
from sdf_corpus.spec.load import Corpus
from sdf_corpus.store import StageKeys, StageOutput, Store
from sdf_corpus.store.ideas import POOL_BACKEND
from sdf_corpus.targets import stage_target

__all__ = [
    "GenerateResult",
    "GenerationLoop",
    "Progress",
    "RunOptions",
    "StageWalk",
    "Stopped",
    "Submitter",
    "combine",
    "final_stage",
]

# Why a run returned. A provider that keeps refusing does not return: the loop
# raises ProviderStoppedError (exit 5) once every submitter has committed.
#   complete          every pending job was tried
#   max_cost          the next request or batch could have crossed --max-cost (exit 3)
#   ambiguous_create  a batch create got no answer; a re-run adopts it (exit 4)
Stopped = Literal["complete", "max_cost", "ambiguous_create"]


@dataclass(frozen=True)
class RunOptions:
    max_cost: float | None = None
    progress: bool = True
    shard: Shard | None = None  # run only the pending jobs of this slice (a --workers process)
    fill_pool: bool = True  # False: a --workers process, whose parent filled the idea pool
    # Send jobs while each genre's kept tokens fall short of its target (the closed
    # budget loop, sdf_corpus.budget), not every pending job: what `build` does.
    budget: bool = False
    plan_slice: Shard | None = None  # this ledger is slice I/N of the plan (--shard)
    # A build's fill pass (sdf_corpus.build): each genre sends at most its gaps and one
    # wave, so a genre whose answers the clean keeps dropping cannot spend without end.
    fill: bool = False


@dataclass(frozen=True)
class GenerateResult:
    jobs_done: int = 0
    jobs_failed: int = 0
    requests: int = 0
    spent_usd: float = 0.0  # the ledger's whole spend, this run's included
    stopped: Stopped = "complete"
    errors: Mapping[str, int] = field(default_factory=dict)  # failed attempts by kind


def combine(results: Iterable[GenerateResult], spent_usd: float) -> GenerateResult:
    """Several workers' results as one run's: counts summed, any stop kept."""
    done = failed = requests = 0
    stopped: Stopped = "complete"
    errors: dict[str, int] = {}
    for r in results:
        done, failed, requests = done + r.jobs_done, failed + r.jobs_failed, requests + r.requests
        for name, n in r.errors.items():
            errors[name] = errors.get(name, 0) + n
        if r.stopped != "complete":
            stopped = r.stopped
    return GenerateResult(done, failed, requests, spent_usd, stopped, errors)


def final_stage(corpus: Corpus, job: Job) -> str:
    """The stage whose commit finishes the job."""
    return stages_for(corpus.genres[job.genre], corpus.spec.backend.provider)[-1].name


class StageWalk:
    """One job's way through its stages: the next one whose output is not in the
    ledger under its key, its request, and each output parsed into the context the
    later stages render.

    A stage's output counts only under its key (`chain.stage_key`: the request and
    the key of the stage before), so a changed stage, and every stage after it, is
    asked again while the stages before it are read back. An output the job's chain
    held before is found again in the ledger's history (`StageKeys.restore`)."""

    def __init__(
        self,
        corpus: Corpus,
        job: Job,
        done: Mapping[str, StageOutput],
        ledger: Store | None = None,
    ) -> None:
        self.corpus, self.job, self.done = corpus, job, done
        self.keys = None if ledger is None else StageKeys(ledger)
        self.provider = corpus.spec.backend.provider
        self.stages = stages_for(corpus.genres[job.genre], self.provider)
        self.context: dict[str, Any] = job_context(corpus, job)
        self.index = 0
        self.key = job.id  # the chain's root: each stage's key extends the one before
        self._next: tuple[Stage, Request, str] | None = None
        self.ledger = ledger
        self.pooled = pooled_stage(corpus, job.genre)

    def next_stage(self) -> Stage | None:
        """The first stage without a committed output under its key (earlier ones read
        into the context); None once every stage has one."""
        while self.index < len(self.stages):
            stage = self.stages[self.index]
            request = build_request(self.corpus, self.job, stage, self.context, self.provider)
            target = stage_target(self.corpus.spec, self.job.genre, stage.name)
            key = stage_key(self.key, target, request)
            if stage.name == self.pooled:
                # Keyed by the pool idea's own identity; absent, the pool still owes it.
                key = self._pool_key(stage.name) or key
            out = self._found(stage.name, key)
            if out is None:
                self._next = (stage, request, key)
                return stage
            self.advance(stage, out.text, key)
        return None

    def _pool_key(self, stage: str) -> str | None:
        if self.ledger is None:
            out = self.done.get(stage)
            return out.key if out is not None and out.backend == POOL_BACKEND else None
        return kept_pool_key(self.ledger, self.job.id)

    def _found(self, stage: str, key: str) -> StageOutput | None:
        out = self.done.get(stage)
        if out is not None and out.key == key:
            return out
        if self.keys is None:
            return None
        return self.keys.restore(self.job.id, stage, key)

    def request(self, stage: Stage) -> Request:
        assert self._next is not None and self._next[0] is stage, "call next_stage() first"
        return self._next[1]

    @property
    def next_key(self) -> str:
        """The key of the stage next_stage() returned: what its answer is stored under."""
        assert self._next is not None, "call next_stage() first"
        return self._next[2]

    def advance(self, stage: Stage, text: str, key: str | None = None) -> None:
        self.context["stages"][stage.name] = parse_output(stage, text, self.job)
        self.key = key if key is not None else self.next_key
        self._next = None
        self.index += 1

    def is_final(self, stage: Stage) -> bool:
        return stage is self.stages[-1]

    def finish_from_ledger(self) -> None:
        """Every stage was found (a changed chain whose changes were undone, or the
        rewrite switched off): the job is done without a request."""
        if self.keys is not None:
            self.keys.finish(self.job.id)


class Progress:
    """The one progress bar: documents finished of the plan, with ETA, output tokens
    and spend. Refreshes at most twice a second; postfix text is built only then."""

    def __init__(self, total: int, initial: int, *, enabled: bool, desc: str) -> None:
        self.enabled = enabled
        self.bar = tqdm(
            total=total,
            initial=initial,
            unit="doc",
            desc=desc,
            disable=not enabled,
            mininterval=0.5,
            dynamic_ncols=True,
        )

    def advance(self, n: int, tokens_out: int, spent: float, extra: str = "") -> None:
        if not self.enabled:
            return
        self.bar.update(n)
        text = f"{tokens_out:,} tok out, ${spent:.4f}"
        self.bar.set_postfix_str(f"{text}, {extra}" if extra else text, refresh=False)

    def show(self, finished: int, text: str) -> None:
        """Set the count to `finished` (read from the ledger, for --workers)."""
        if self.enabled:
            self.bar.update(finished - self.bar.n)
            self.bar.set_postfix_str(text, refresh=False)

    def say(self, text: str) -> None:
        if self.enabled:
            self.bar.write(text, file=sys.stderr)

    def close(self) -> None:
        self.bar.close()


class Submitter(Protocol):
    """How requests travel. `run` returns when no pending job is left, or once
    `loop.halted` is set and its in-flight work is committed."""

    @property
    def requests(self) -> int:
        """Requests sent so far (a batch counts each request it carries)."""

    async def run(self, loop: GenerationLoop) -> None: ...


class GenerationLoop:
    """The run's shared state: the plan's corpus and ledger, the spend guard, the
    progress display and the tally that becomes the result."""

    def __init__(
        self,
        corpus: Corpus,
        ledger: Store,
        options: RunOptions,
        price: ModelPrice | None,
        *,
        batch: bool = False,
    ) -> None:
        self.corpus, self.ledger, self.options = corpus, ledger, options
        totals = ledger.totals()  # once: at 500k jobs it sums a million attempt rows
        self.guard = CostGuard(options.max_cost, totals.cost_usd, price, batch=batch)
        desc = "generate (batch)" if batch else "generate"
        self.progress = Progress(
            totals.jobs, totals.done + totals.failed, enabled=options.progress, desc=desc
        )
        self.done = self.failed = self.tokens_out = 0
        self.errors: dict[str, int] = {}
        self.stopped: Stopped = "complete"
        self.stopped_by: ProviderStoppedError | None = None
        self.halted = False
        self.held: frozenset[str] = frozenset()  # jobs still owed an idea by the pool
        # A wave's new jobs get their ideas from the pool before any is sent (set by the
        # immediate submitter's runner; None: nothing to fill, or a --workers process).
        self.fill_wave: Callable[[list[Job]], Awaitable[frozenset[str]]] | None = None
        self._unfilled: list[Job] = []
        self._filling = asyncio.Lock()
        self.budget = (
            BudgetLoop(
                corpus,
                ledger,
                worker=options.shard,
                plan_slice=options.plan_slice,
                # A batch cannot ask the pool for a wave's ideas before sending: the
                # build extends the plan between passes instead (sdf_corpus.build).
                extends=not batch,
                fill=options.fill,
                release=self._unfilled.extend,
            )
            if options.budget
            else None
        )

    def owned(self, pending: Iterable[Job]) -> Iterable[Job]:
        """The pending jobs this process owns (all, unless it is a --workers slice)."""
        shard = self.options.shard
        return pending if shard is None else (job for job in pending if shard.owns(job.id))

    def pooled(self, pending: Iterable[Job]) -> Iterable[Job]:
        """The pending jobs whose ideas the pool fills before sending: those this process
        owns, and under the budget loop those of the genres it may send for."""
        mine = self.owned(pending)
        return mine if self.budget is None else self.budget.likely(mine)

    def jobs(self, pending: Iterable[Job]) -> Iterable[Job]:
        """The pending jobs this process owns, less those the idea pool still owes an
        idea (they wait for a later run), while the budget loop wants them."""
        held = self.held
        mine = (job for job in self.owned(pending) if not held or job.id not in held)
        return mine if self.budget is None else self.budget.gated(mine)

    async def next_job(self, pending: Iterator[Job]) -> Job | None:
        """The next job to send: the budget loop's choice, or the next pending one."""
        if self.budget is not None:
            while (job := await self.budget.next(lambda: self.halted)) is not None:
                # Every sender waits while a wave's ideas are asked for: the one that made
                # the wave holds the lock (taken without a yield), so no other sender can
                # send one of its jobs before the pool has given it an idea.
                async with self._filling:
                    if self._unfilled and self.fill_wave is not None:
                        wave, self._unfilled[:] = list(self._unfilled), []
                        self.held = self.held | await self.fill_wave(wave)
                if job.id not in self.held:
                    return job
                self.budget.finished(job, False)  # owed an idea: it waits for a later run
            return None
        return next(pending, None)

    def walk(self, job: Job, done: Mapping[str, StageOutput]) -> StageWalk:
        return StageWalk(self.corpus, job, done, self.ledger)

    def paid(self, completion: Completion) -> None:
        """A committed answer; its cost is already in the guard."""
        self.tokens_out += completion.output_tokens

    def finished(self, ok: bool, extra: str = "", job: Job | None = None) -> None:
        if self.budget is not None and job is not None:
            self.budget.finished(job, ok)
        if ok:
            self.done += 1
        else:
            self.failed += 1
        self.progress.advance(1, self.tokens_out, self.guard.spent, extra)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def halt(self, why: Stopped | ProviderStoppedError | BudgetError) -> None:
        """Stop submitting; what is in flight still commits. A provider stop outranks
        a spend stop (it is raised, exit 5); otherwise the first reason stands. A
        BudgetError (a request that would cross max_cost) is the spend stop."""
        self.halted = True
        if self.budget is not None:
            self.budget.wake()
        if isinstance(why, ProviderStoppedError):
            self.stopped_by = self.stopped_by or why
        elif self.stopped == "complete":
            self.stopped = "max_cost" if isinstance(why, BudgetError) else why

    async def run(self, submitter: Submitter) -> GenerateResult:
        try:
            await submitter.run(self)
        finally:
            self.progress.close()
        if self.stopped_by is not None:
            raise self.stopped_by  # after the submitter has committed what it had
        return GenerateResult(
            jobs_done=self.done,
            jobs_failed=self.failed,
            requests=submitter.requests,
            spent_usd=self.guard.spent,
            stopped=self.stopped,
            errors=dict(self.errors),
        )
