"""The closed budget loop: one door in for a generation loop.

The plan is a deterministic order of jobs per genre (`plan.planner`); a build
takes jobs from the front of it. `BudgetLoop` decides, each time a sender is
free, which genre's next job to send: the genre furthest under its target whose
projection (`gate.BudgetGate`) is still short. When a genre has sent the front
of its plan and still needs tokens, a wave adds a fixed number of jobs
(`wave_size`, `plan.rounds.extend_plan`); `release` is the seam where a
wave's jobs are handed to whatever must prepare them (the idea pool). Each
finished job's kept tokens are estimated as it lands (`yields.KeepEstimator`),
so the provider stays saturated while the loop decides: there is no stop to
clean and no restart between waves.

What the shards keep is cut after the clean in plan order (`select`), so the
loop only has to send a contiguous front of each genre's plan that reaches past
its target: it aims half a document past it (the cut needs a document to stop
at), and a pending job in front of the genre's last finished one (a gap another
`--workers` process left, or a resume) is sent whatever the projection says.
Waves have a fixed size per genre (half its first-round jobs), so the plan a
build extends to, and the ideas the pool gives its jobs, do not depend on the
order answers arrived in.

A `--shard I/N` slice (its own ledger) steers by its share of every target,
1/N (job ids hash evenly into slices), and never extends the plan: the merged
run's build does, if the slices together fell short. A `--workers` process
steers by its share the same way and does not extend it either: the build's
next pass, in one process, sends the gaps and the waves.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator

from sdf_corpus.budget.cut import closed_genres, open_now
from sdf_corpus.budget.gate import BudgetGate
from sdf_corpus.budget.yields import KeepEstimator, ever_measured, measured_meters
from sdf_corpus.plan.job import Job
from sdf_corpus.plan.planner import budget_allocation, expected_tokens, genre_targets
from sdf_corpus.plan.rounds import extend_plan
from sdf_corpus.plan.shard import Shard
from sdf_corpus.spec.load import Corpus
from sdf_corpus.store import Store

__all__ = ["BATCH_FIRST_SHARE", "CAP_FACTOR", "BudgetLoop", "Release", "extend_open", "wave_size"]

# No genre sends more than this multiple of what its target needs at the planner's
# expectation in one loop (the top-up's cap): a yield near zero cannot spend without end.
CAP_FACTOR = 4.0
_PAGE = 256
BATCH_FIRST_SHARE = 0.5
# Running a finished document through the filters costs ~2 ms of CPU (~1,700 tokens;
# benchmarks/bench_budget.py): once a genre has SAMPLE_AFTER measured jobs, one
# finished job in SAMPLE_EVERY is filtered and the others count its measured yield,
# so the estimate's CPU stays small beside the requests' own at high throughput.
SAMPLE_AFTER = 64
SAMPLE_EVERY = 8

Release = Callable[[list[Job]], None]


def wave_size(corpus: Corpus, genre: str) -> int:
    """Jobs one wave adds to a genre: half its first-round jobs (at least one). A fixed
    size, not the need at the yield so far: which jobs a wave holds (and the pool's
    requests for them) must not depend on when answers arrived."""
    return max(1, math.ceil(budget_allocation(corpus).jobs.get(genre, 0) / 2))


def extend_open(corpus: Corpus, store: Store, genres: Iterable[str]) -> list[Job]:
    """A wave for each of `genres` that has no pending job left (the build's, between
    passes, for a batch or --workers pass, which do not extend the plan themselves)."""
    waiting = store.pending_by_genre()
    counts = {g: wave_size(corpus, g) for g in sorted(genres) if not waiting.get(g, 0)}
    return extend_plan(corpus, store, counts) if counts else []


def _aims(corpus: Corpus, store: Store, parts: int) -> tuple[dict[str, float], dict[str, float]]:
    """What this process steers each genre to (its 1/parts share), and the planner's
    expected kept tokens per job."""
    # A genre the plan gives no job (a fraction of one document) is not sent for, nor
    # one the last cut closed (same spec, no job finished since).
    planned = budget_allocation(corpus).jobs
    closed = closed_genres(corpus, store) or set()
    # The judge drops documents the streaming estimate cannot see: until a clean has
    # measured it on this run, aim the expected drop rate higher (the reserve keeps
    # any surplus); afterwards the measured figures carry its drops.
    margin = 1.0
    if corpus.spec.judge.enabled and not ever_measured(store):
        margin = 1.0 / (1.0 - corpus.spec.budget.expected_drop_rate)
    prior = {g: expected_tokens(corpus, g) for g in genre_targets(corpus)}
    # Half a document past the target: the cut after the clean walks the genre's
    # documents in plan order and stops at the first that does not fit.
    targets = {
        g: (t * margin + prior[g] / 2) / parts if planned.get(g, 0) and g not in closed else 0.0
        for g, t in genre_targets(corpus).items()
    }
    return targets, prior


class _Front:
    """A genre's pending jobs of the plan, from the front, a page at a time."""

    def __init__(self, store: Store, genre: str, owns: Callable[[str], bool]) -> None:
        self.store, self.genre, self.owns = store, genre, owns
        self.after = -1
        self.buffer: deque[tuple[int, Job]] = deque()

    def peek(self) -> int | None:
        """The plan index of the next pending job (None: the plan's end)."""
        if not self.buffer:
            page = self.store.pending_of_genre(self.genre, self.after, _PAGE)
            if page:
                self.after = page[-1][0]
            self.buffer.extend((idx, job) for idx, job in page if self.owns(job.id))
        return self.buffer[0][0] if self.buffer else None

    def pop(self) -> Job | None:
        return self.buffer.popleft()[1] if self.peek() is not None else None


class BudgetLoop:
    def __init__(
        self,
        corpus: Corpus,
        store: Store,
        *,
        worker: Shard | None = None,
        plan_slice: Shard | None = None,
        release: Release | None = None,
        extends: bool = True,
        fill: bool = False,
    ) -> None:
        self.corpus, self.store = corpus, store
        self.worker, self.release = worker, release
        self.extends = extends and plan_slice is None and worker is None
        parts = (worker.count if worker else 1) * (plan_slice.count if plan_slice else 1)
        targets, prior = _aims(corpus, store, parts)
        self.wave_size = {g: wave_size(corpus, g) for g in targets}
        self.last_done = store.last_done_by_genre()
        caps = {g: math.ceil(CAP_FACTOR * targets[g] / max(1.0, prior[g])) + 1 for g in targets}
        if fill:  # a fill pass: the gaps and one wave at most
            gaps = store.gaps_by_genre()
            caps = {g: gaps.get(g, 0) + self.wave_size[g] for g in targets}
        self.estimator = KeepEstimator(corpus)
        meters = measured_meters(corpus, store, self.estimator, worker)
        for g in open_now(corpus, store) & {g for g, t in targets.items() if t > 0}:
            targets[g] = max(targets[g], meters[g].kept + 1.0)  # one more document at least
        self.gate = BudgetGate(targets, prior, caps, meters)
        owns = worker.owns if worker is not None else (lambda _id: True)
        self.fronts = {g: _Front(store, g, owns) for g in targets}
        self.changed = asyncio.Event()
        self.waves = 0

    # -- choosing what to send ------------------------------------------------------------
    def pick(self) -> Job | None:
        """The next job to send, admitted to the gate; None when no genre needs one.
        A gap in a genre's front is sent first, wanted or not."""
        for genre, front in self.fronts.items():
            if self._gap(genre):
                job = front.pop()
                if job is not None and self.gate.admit(job.id, genre):
                    return job
        for genre in self.gate.neediest():
            job = self._next_of(genre)
            if job is not None and self.gate.admit(job.id, genre):
                return job
        return None

    def _next_of(self, genre: str) -> Job | None:
        """The genre's next job not yet in flight (a batch may have taken the front
        already), or the first of a new wave."""
        while (job := self.fronts[genre].pop()) is not None:
            if job.id not in self.gate.in_flight:
                return job
        return self._wave(genre)

    async def next(self, halted: Callable[[], bool]) -> Job | None:
        """The next job to send; waits while none is needed but answers are still due
        (one may be dropped and call for another); None when the loop is done."""
        while not halted():
            job = self.pick()
            if job is not None:
                return job
            if not self.gate.in_flight:
                return None
            self.changed.clear()
            await self.changed.wait()
        return None

    def likely(self, jobs: Iterable[Job]) -> Iterator[Job]:
        """The pending jobs the idea pool fills before sending: every one of a genre that
        still needs a job or has a gap in its front, none of a genre the shards and
        reserve already cover (a raise the reserve covers asks for nothing). A genre's
        jobs all or none: its pool requests are then the ones a run that sends its whole
        plan asks (a `--shard` slice, a `generate` before a resume), so the ideas its
        jobs get do not depend on how many of them the loop will send."""
        needy = {g for g in self.fronts if self.gate.wants(g) or self._gap(g)}
        return (job for job in jobs if job.genre in needy)

    def _gap(self, genre: str) -> bool:
        at = self.fronts[genre].peek()
        return at is not None and at < self.last_done.get(genre, -1)

    def gated(self, jobs: Iterable[Job]) -> Iterator[Job]:
        """The jobs a batch may carry: those in flight, and the rest while their genre
        still needs one, then waves for the genres still short. A genre with nothing
        measured yet sends half its expected need (`BATCH_FIRST_SHARE`)."""
        self.gate.first_share = BATCH_FIRST_SHARE
        for job in jobs:
            if job.id in self.gate.in_flight or (
                self.gate.wants(job.genre) and self.gate.admit(job.id, job.genre)
            ):
                yield job
        while (extra := self.pick()) is not None:
            yield extra

    def _wave(self, genre: str) -> Job | None:
        """Extend the plan for a genre that sent its whole front and still needs more."""
        # A genre with no finished job has nothing measured: its jobs may all be failing
        # (a refused request, say), and more of them would only repeat the failures.
        if not self.extends or not self.gate.meters[genre].done:
            return None
        if self.gate.sent.get(genre, 0) >= self.gate.caps[genre]:
            return None
        jobs = extend_plan(self.corpus, self.store, {genre: self.wave_size[genre]})
        self.waves += 1
        if self.release is not None:
            self.release(jobs)
        return self.fronts[genre].pop()  # the front reads them from the ledger, in order

    # -- what came back -------------------------------------------------------------------
    def finished(self, job: Job, ok: bool) -> None:
        """A job ended (ok: its last stage is committed); its kept tokens are estimated."""
        kept = None
        done = self.gate.meters[job.genre].done
        if ok and done >= SAMPLE_AFTER and done % SAMPLE_EVERY:
            kept = round(self.gate.yield_of(job.genre))
        elif ok:
            kept = self.estimator.kept_tokens([(job, self.store.outputs(job.id))])[0]
        self.gate.finished(job.id, job.genre, kept)
        self.changed.set()

    def wake(self) -> None:
        """Let waiting senders see that the loop halted."""
        self.changed.set()
