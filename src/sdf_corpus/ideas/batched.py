"""The idea pool through a batch API (`--batch`): its requests in rounds, at the batch price.

`PoolBatches` is a `CallerFor` like the generation executors, with `batched` set: the fill
then sends a cell's requests `ideas.batch_width` per round (ideas/fill.py); at width 1 they
are exactly the requests it sends immediately (same prompts, request ids and order per
cell), so the kept ideas are the same. The requests the fill has waiting at one moment
(every cell's round) go out as one batch per target; when a batch ends each answer is
handed back by its custom id, the fill checks and commits its round's answers (marking the
batch requests answered in the same transaction), and the next requests, re-asks among
them, form the next round.

The jobs' batch guarantees hold (`generate/batch.py`, docs/cost.md): intent and custom ids
committed before create (`batch_clients.create_batch`), an intent without an id adopted
next run (`adopt_orphan`); a request in a batch of a killed run is not sent again: the fill
asks for the same request id given the same ledger, and waits for that batch's answer
(`IdeaBook.in_flight`); errored, expired and missing answers go again up to
`backend.max_attempts`; answers priced from our table at the batch discount, and each
request's batch worst case reserved before it joins a round (`--max-cost`: BudgetError).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sdf_corpus.errors import (
    AmbiguousCreateError,
    ProviderError,
    ProviderStoppedError,
)
from sdf_corpus.generate.backends.anthropic_batches import BatchEntry, BatchResult
from sdf_corpus.generate.batch_clients import (
    BatchAPI,
    adopt_orphan,
    create_batch,
    make_breakers,
    poll_batch,
    result_error,
    retry_error,
)
from sdf_corpus.generate.spend import CostGuard
from sdf_corpus.generate.stages import target_price
from sdf_corpus.ideas.fill import Caller
from sdf_corpus.sampling import Completion, Request
from sdf_corpus.spec.load import Corpus
from sdf_corpus.store import BatchBook, BatchRow, RequestRow, Store
from sdf_corpus.store.ideas import POOL_STAGE, IdeaBook
from sdf_corpus.targets import Target, default_target, stage_target

__all__ = ["PoolBatches"]

# Turns of the event loop with no new request before a round goes out: after a batch's
# answers are handed back, each cell's coroutine commits and asks its next request
# within a turn or two (nothing in between awaits anything else).
_QUIET_TURNS = 4
_ENVELOPE = 64  # '{"requests":[...]}' and separators


@dataclass
class _Call:
    target: Target
    payer: str  # the job the attempt rows are filed under (the request's first brief)
    request: Request  # custom_id: the pool request's id
    worst: float  # reserved on the spend guard until the answer is in
    future: asyncio.Future[tuple[Completion, float]]
    attempt: int = 1
    custom_id: str = ""
    started: float = 0.0


class _TargetCaller:
    def __init__(self, batches: PoolBatches, target: Target) -> None:
        self.batches, self.target = batches, target

    async def call(self, key: str, stage: str, request: Request) -> tuple[Completion, float]:
        return await self.batches.call(self.target, key, request)


class PoolBatches:
    """Pool requests sent in rounds of batches; call `fill_pool(..., caller=this)` after
    `await this.start()`, and `await this.finish()` after it."""

    # Read by `fill_pool`: a cell's requests go out `ideas.batch_width` per round.
    batched = True

    def __init__(
        self,
        corpus: Corpus,
        ledger: Store,
        clients: Mapping[Target, BatchAPI],
        guard: CostGuard,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.corpus, self.ledger, self.clients, self.guard = corpus, ledger, clients, guard
        self.book, self.ideas = BatchBook(ledger), IdeaBook(ledger)
        spec = corpus.spec.backend
        self.max_attempts, self.limits = spec.max_attempts, spec.batch
        self.default = default_target(corpus.spec)
        self.prices = {t: target_price(corpus, t) for t in clients}
        self.breakers = make_breakers(corpus, clients)
        self.say = say or (lambda _text: None)
        self.queue: list[_Call] = []  # to go out in the next round
        self.waiting: dict[str, _Call] = {}  # custom id -> call whose batch is out
        self.adoptable: dict[str, tuple[str, int]] = {}  # request id -> (custom id, seq)
        # request id -> (payer, custom id, started, answer): adopted, not asked for (yet)
        self.unclaimed: dict[str, tuple[str, str, float, Completion]] = {}
        self.collected: dict[int, BatchRow] = {}  # read this run; closed once all answered
        self.driver: asyncio.Task[None] | None = None
        self.wake = asyncio.Event()  # a request joined the queue while batches are out
        self.requests = 0  # requests put in batches by this run
        self.error: ProviderError | None = None  # what ended the batches, raised after the fill
        self.ambiguous = False  # a create got no answer: its intent waits for the next run

    def __call__(self, genre: str, stage: str) -> Caller:
        return _TargetCaller(self, stage_target(self.corpus.spec, genre, stage))

    # -- the fill's side --------------------------------------------------------------------
    async def start(self) -> None:
        """Adopt what an earlier run left: intents without a batch id, batches in flight."""
        for row in self.book.batches("creating", pool=True):
            adopted = await adopt_orphan(self.book, self.clients[self._target_of(row)], row)
            if adopted is not None:
                self.say(f"idea pool: adopted batch {adopted} created before the last run stopped")
        self.adoptable = self.ideas.in_flight()

    async def call(self, target: Target, payer: str, request: Request) -> tuple[Completion, float]:
        self.breakers[target].check()
        rid = request.custom_id
        future: asyncio.Future[tuple[Completion, float]] = (
            asyncio.get_running_loop().create_future()
        )
        if rid in self.unclaimed:
            _, _, started, completion = self.unclaimed.pop(rid)
            return completion, started
        price = self.prices.get(target)
        if rid in self.adoptable:
            # Sent by an earlier run and paid for already: wait for that batch's answer.
            cid, _ = self.adoptable.pop(rid)
            worst = self.guard.worst_case(request, price)
            self.guard.reserved += worst
            call = _Call(target, payer, request, worst, future, custom_id=cid)
            call.started = time.time()
            self.waiting[cid] = call
        else:
            worst = self.guard.reserve(request, price)  # BudgetError: the fill stops here
            tries = self.ideas.batch_tries(rid)
            self.queue.append(_Call(target, payer, request, worst, future, attempt=tries + 1))
            self.wake.set()
        if self.driver is None:
            self.driver = asyncio.create_task(self._drive())
        return await future

    async def finish(self) -> None:
        """Wait for batches nobody asked for (adopted from an earlier run whose requests the
        fill no longer makes) and put their answers' cost on the ledger."""
        if self.driver is not None:
            await self.driver
        if self.book.batches("in_progress", "ended", pool=True) and self.driver is None:
            self.driver = asyncio.create_task(self._drive())
            await self.driver
        for _, (payer, cid, started, completion) in sorted(self.unclaimed.items()):
            self.ideas.record_unclaimed(payer, cid, started, completion)
        self.unclaimed.clear()
        await self._close_answered()

    # -- rounds -----------------------------------------------------------------------------
    async def _drive(self) -> None:
        try:
            delay = self.limits.poll_initial
            while True:
                await self._quiet()
                await self._close_answered()
                if self.queue:
                    await self._submit_round()
                flight = [
                    b
                    for b in self.book.batches("in_progress", "ended", pool=True)
                    if b.seq not in self.collected
                ]
                if not flight:
                    self._orphaned()
                    return
                if await self._poll(flight):
                    delay = self.limits.poll_initial
                else:
                    with contextlib.suppress(TimeoutError):  # a new request cuts it short
                        await asyncio.wait_for(self.wake.wait(), delay)
                    self.wake.clear()
                    delay = min(delay * 1.5, self.limits.poll_max)
        except asyncio.CancelledError:
            self._fail_all(None)
            raise
        except Exception as exc:  # every caller learns why the pool's batches stopped
            self._fail_all(exc)
        finally:
            self.driver = None

    def _orphaned(self) -> None:
        """Requests still waiting with no batch left to read: should never happen; failing
        them (their jobs can be retried) beats waiting forever, and sends nothing twice."""
        for call in self.waiting.values():
            self.guard.settle(call.worst, 0.0)
            call.future.set_exception(retry_error("pool request has no batch left to read"))
        self.waiting = {}

    async def _quiet(self) -> None:
        seen, quiet = -1, 0
        while quiet < _QUIET_TURNS:
            await asyncio.sleep(0)
            now = len(self.queue) + len(self.waiting)
            quiet = quiet + 1 if now == seen else 0
            seen = now

    def _fail_all(self, exc: Exception | None) -> None:
        """Every waiting request ends with the driver, as a stop: the fill commits what was
        answered and sends nothing more; batches still out are adopted by the next run. A
        create that got no answer (`ambiguous`: exit 4, the next run adopts it) or any
        other provider error (`error`: a create refused, a poll refused; raised after the
        fill, ending the run as the jobs' batches do) fails no job: it is not about them."""
        error: Exception | None = exc
        if isinstance(exc, AmbiguousCreateError):
            self.ambiguous = True
            error = ProviderStoppedError("a pool batch create got no answer")
        elif isinstance(exc, ProviderError):
            self.error = exc
            error = ProviderStoppedError(f"idea pool batch failed: {exc}")
        for call in [*self.queue, *self.waiting.values()]:
            self.guard.settle(call.worst, 0.0)
            if call.future.done():
                continue
            if error is None:
                call.future.cancel()
            else:
                call.future.set_exception(error)
        self.queue, self.waiting = [], {}

    async def _submit_round(self) -> None:
        calls, self.queue = self.queue, []
        self.wake.clear()
        by_target: dict[Target, list[_Call]] = {}
        for call in calls:
            call.custom_id = _custom_id(call.request.custom_id, call.attempt)
            by_target.setdefault(call.target, []).append(call)
        for target, group in by_target.items():
            client = self.clients[target]
            entries = [
                BatchEntry(c.custom_id, client.params(target.model, c.request)) for c in group
            ]
            for chunk in _chunks(
                client, list(zip(group, entries, strict=True)), self._caps(target)
            ):
                await self._submit(target, chunk)

    def _caps(self, target: Target) -> tuple[int, int]:
        limits = self.clients[target].limits
        return min(self.limits.max_requests, limits[0]), min(self.limits.max_bytes, limits[1])

    async def _submit(self, target: Target, chunk: Sequence[tuple[_Call, BatchEntry]]) -> None:
        client = self.clients[target]
        calls = [call for call, _ in chunk]
        rows = [
            RequestRow(c.custom_id, c.payer, POOL_STAGE, c.attempt, "", key=c.request.custom_id)
            for c in calls
        ]
        started = time.time()
        for call in calls:
            call.started = started
            self.waiting[call.custom_id] = call
        # A create refused or unanswered raises: the driver stops the fill (`_fail_all`).
        status = await create_batch(
            self.book,
            client,
            self.breakers[target],
            target,
            rows,
            [entry for _, entry in chunk],
            size=_ENVELOPE + sum(len(client.line(entry)) for _, entry in chunk),
            worst=sum(c.worst for c in calls),
            max_attempts=self.max_attempts,
            wait=self.limits.poll_initial,
        )
        self.requests += len(calls)
        self.say(f"idea pool: batch {status.id} ({target.label()}): {len(calls)} list requests")

    async def _poll(self, flight: Sequence[BatchRow]) -> bool:
        ended = False
        for batch in flight:
            assert batch.id is not None
            client = self.clients[self._target_of(batch)]
            state = await poll_batch(self.book, client, batch)
            if state == "waiting":
                continue
            if state == "lost":
                self.say(f"idea pool: batch {batch.id} is gone (404); its requests go again")
                self._retry_lost(batch.seq)
            else:
                await self._collect(batch, client)
            ended = True
        return ended

    async def _collect(self, batch: BatchRow, client: BatchAPI) -> None:
        assert batch.id is not None
        target = self._target_of(batch)
        rows = self.book.requests(batch.seq)
        results = {r.custom_id: r async for r in client.results(batch.id) if r.custom_id in rows}
        # Handed back in the order the requests were sent, whatever order the API keeps:
        # the cells' checks and commits then run in one order on every run.
        for cid, row in rows.items():
            if row.result is None:
                self._answer(row, results.get(cid) or BatchResult(cid, "missing"), target, batch)
        self.collected[batch.seq] = batch

    def _answer(
        self, row: RequestRow, result: BatchResult, target: Target, batch: BatchRow
    ) -> None:
        call = self.waiting.pop(row.custom_id, None)
        if result.type == "succeeded":
            self.breakers[target].success()
            completion = self.clients[target].completion(
                target.model, self.prices.get(target), "", result.message
            )
            if call is None:  # adopted, and not (yet) asked for by this run's fill
                answer = (row.job_id, row.custom_id, batch.created_at, completion)
                self.unclaimed[row.key or ""] = answer
                self.guard.spent += completion.cost_usd
                return
            self.guard.settle(call.worst, completion.cost_usd)
            call.future.set_result((completion, call.started))
            return
        self._failed(row, result, target, call)

    def _failed(
        self, row: RequestRow, result: BatchResult, target: Target, call: _Call | None
    ) -> None:
        error, permanent = result_error(result)
        give_up = permanent or row.attempt >= self.max_attempts
        self.book.record_failure(
            self.book.job(row.job_id),
            row,
            result.type,
            error,
            str(error),
            status=400 if permanent else None,
            fatal=give_up,
            fail_job=False,  # the fill fails the request's jobs when it learns of it
        )
        if call is not None and give_up:
            self.guard.settle(call.worst, 0.0)
            call.future.set_exception(error)
        elif call is not None:
            call.attempt = row.attempt + 1
            self.queue.append(call)
        self.breakers[target].failure(error)  # after the commit; may stop the run

    def _retry_lost(self, seq: int) -> None:
        """A batch the provider no longer has: its waiting requests go in the next round."""
        for cid in self.book.requests(seq):
            call = self.waiting.pop(cid, None)
            if call is not None:
                call.attempt += 1
                self.queue.append(call)

    async def _close_answered(self) -> None:
        """A collected batch whose every request is answered in the ledger is closed (its
        files discarded). Until then it stays `ended`, so a kill before the fill commits an
        answer leaves it for the next run to read again, never to send again."""
        for seq, batch in sorted(self.collected.items()):
            if self.book.unanswered(seq):
                continue
            self.book.set_status(seq, "collected")
            del self.collected[seq]
            assert batch.id is not None
            await self.clients[self._target_of(batch)].discard(batch.id)

    def _target_of(self, batch: BatchRow) -> Target:
        for target in self.clients:
            if (target.provider, target.model) == (batch.provider, batch.model):
                return target
        return self.default


def _custom_id(request_id: str, attempt: int) -> str:
    """The pool request's id on its first attempt; then with the attempt number."""
    return request_id if attempt == 1 else f"{request_id}-{attempt}"


def _chunks(
    client: BatchAPI, entries: Sequence[tuple[_Call, BatchEntry]], caps: tuple[int, int]
) -> list[list[tuple[_Call, BatchEntry]]]:
    """Within the API's (and the spec's) requests and bytes per batch."""
    max_requests, max_bytes = caps
    chunks: list[list[tuple[_Call, BatchEntry]]] = [[]]
    size = _ENVELOPE
    for item in entries:
        line = len(client.line(item[1]))
        if chunks[-1] and (len(chunks[-1]) >= max_requests or size + line > max_bytes):
            chunks.append([])
            size = _ENVELOPE
        chunks[-1].append(item)
        size += line
    return [c for c in chunks if c]
