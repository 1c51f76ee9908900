"""`generate --batch`: the generation loop's (loop.py) batch submitter, sending
pending stages through a batch API: Anthropic's Message Batches, or OpenAI-format
Files + Batches through litellm (`batch_clients.py`), one client per target.

Every pending job's next stage becomes one batch request; requests are packed
into batches within the API's limits (`backend.batch.max_requests` /
`max_bytes`), each batch's custom ids are committed to the ledger before create
is called and its id right after (`sdf_corpus.store.batches`). Batches are polled with
backoff; when one ends, each result is mapped back by its custom id only (the
API does not keep request order) and committed exactly as the immediate
submitter commits a stage (`Store.record_stage`, cost from our price table at the batch
discount). The jobs that advanced then get their next stage in a new batch.

Stages on different providers and models (`backend.stages`) go in different
batches: requests are chunked per target (OpenAI takes one model per file), each
target has its own client, its own limits (the smaller of `backend.batch.*` and
the provider's caps) and its own circuit breaker.

Errored, expired, canceled and missing results are retried in a later batch
with a new attempt number, up to `backend.max_attempts`; an invalid request
fails its job at once. A batch whose worst-case cost could take spend past
--max-cost is not submitted.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from sdf_corpus.errors import (
    AmbiguousCreateError,
    ProviderError,
)
from sdf_corpus.generate.backends.anthropic_batches import BatchEntry, BatchResult
from sdf_corpus.generate.batch_clients import (
    BatchAPI,
    adopt_orphan,
    create_batch,
    make_batch_clients,
    make_breakers,
    poll_batch,
    result_error,
    retry_error,
)
from sdf_corpus.generate.breaker import CircuitBreaker, account_refusal
from sdf_corpus.generate.loop import GenerateResult, GenerationLoop, RunOptions, final_stage
from sdf_corpus.generate.runner import fill_ideas
from sdf_corpus.generate.stages import target_price
from sdf_corpus.plan.job import Job
from sdf_corpus.pricing.prices import ModelPrice
from sdf_corpus.spec.load import Corpus
from sdf_corpus.store import BatchBook, BatchRow, RequestRow, Store
from sdf_corpus.targets import Target, default_target, stage_target

__all__ = ["BatchSubmitter", "custom_id", "run_batch_generation"]

_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_ENVELOPE_BYTES = 64  # '{"requests":[...]}' and separators


def custom_id(job_id: str, stage: str, attempt: int) -> str:
    """Deterministic from job, stage and attempt; valid for the API's pattern."""
    cid = f"{job_id}-{stage}-{attempt}"
    if _CUSTOM_ID.match(cid):
        return cid
    stage_hash = hashlib.blake2b(stage.encode(), digest_size=5).hexdigest()
    return f"{job_id[:40]}-{stage_hash}-{attempt}"


@dataclass
class _Chunk:
    target: Target
    rows: list[RequestRow] = field(default_factory=list)
    entries: list[BatchEntry] = field(default_factory=list)
    size: int = _ENVELOPE_BYTES
    worst: float = 0.0


class BatchSubmitter:
    def __init__(
        self,
        corpus: Corpus,
        ledger: Store,
        clients: Mapping[Target, BatchAPI],
        price: ModelPrice | None,
    ) -> None:
        self.corpus, self.ledger, self.clients = corpus, ledger, clients
        self.book = BatchBook(ledger)
        spec = corpus.spec.backend
        self.default = default_target(corpus.spec)
        self.max_attempts = spec.max_attempts
        self.limits = spec.batch
        self.prices = {t: price if t == self.default else target_price(corpus, t) for t in clients}
        self.breakers = make_breakers(corpus, clients)
        self.requests = 0

    def _target_of(self, batch: BatchRow) -> Target:
        """The target a ledger batch went to (older rows: the run's default model)."""
        for target in self.clients:
            if (target.provider, target.model) == (batch.provider, batch.model):
                return target
        return self.default

    # -- the loop -------------------------------------------------------------------------
    async def run(self, loop: GenerationLoop) -> None:
        self.loop = loop
        await self._resolve_orphans()
        delay, changed = self.limits.poll_initial, True
        while True:
            if changed and not loop.halted:
                await self._submit_ready()
            flight = self.book.batches("in_progress", "ended", pool=False)
            if not flight:
                break
            changed = await self._poll(flight)
            if changed:
                delay = self.limits.poll_initial  # something ended: next stages are ready
            else:
                await asyncio.sleep(delay)
                delay = min(delay * 1.5, self.limits.poll_max)

    def _reserved(self) -> float:
        return sum(
            b.worst_cost_usd
            for b in self.book.batches("in_progress", "ended", "creating", pool=False)
        )

    # -- submitting -----------------------------------------------------------------------
    async def _submit_ready(self) -> None:
        chunks: dict[Target, _Chunk] = {}
        guard = self.loop.guard
        # Batches in flight, from this run or an earlier one, hold their worst case.
        guard.reserved = self._reserved()
        for job in self.loop.jobs(self.book.ready_jobs()):
            item = self._next_request(job)
            if item is None:
                continue
            target, row, entry, worst = item
            client = self.clients[target]
            chunk = chunks.setdefault(target, _Chunk(target))
            size = len(client.line(entry))
            max_requests, max_bytes = self._caps(client)
            if chunk.rows and (len(chunk.rows) >= max_requests or chunk.size + size > max_bytes):
                await self._submit(chunk)
                if self.loop.halted:
                    return
                guard.reserved += chunk.worst
                chunk = chunks[target] = _Chunk(target)
            if not guard.room_for(sum(c.worst for c in chunks.values()) + worst):
                self.loop.halt("max_cost")
                break
            chunk.rows.append(row)
            chunk.entries.append(entry)
            chunk.size += size
            chunk.worst += worst
        for chunk in chunks.values():
            if chunk.rows and not (self.loop.halted and self.loop.stopped != "max_cost"):
                await self._submit(chunk)
                guard.reserved += chunk.worst

    def _caps(self, client: BatchAPI) -> tuple[int, int]:
        """The smaller of the spec's limits and the provider's (OpenAI: 50,000 / 200 MB)."""
        return (
            min(self.limits.max_requests, client.limits[0]),
            min(self.limits.max_bytes, client.limits[1]),
        )

    def _next_request(self, job: Job) -> tuple[Target, RequestRow, BatchEntry, float] | None:
        walk = self.loop.walk(job, self.ledger.outputs(job.id))
        stage = walk.next_stage()
        if stage is None:
            # Every stage found under its key (a chain changed back, rewrite off): done.
            walk.finish_from_ledger()
            self._tick(ok=True, job=job)
            return None
        attempt = self.book.attempts(job.id, stage.name) + 1
        if attempt > self.max_attempts:
            self._fail(job, stage.name, "attempts exhausted in earlier batches")
            return None
        request = walk.request(stage)
        cid = custom_id(job.id, stage.name, attempt)
        row = RequestRow(cid, job.id, stage.name, attempt, request.prefill, key=walk.next_key)
        target = stage_target(self.corpus.spec, job.genre, stage.name)
        entry = BatchEntry(cid, self.clients[target].params(target.model, request))
        return target, row, entry, self.loop.guard.worst_case(request, self.prices[target])

    async def _submit(self, chunk: _Chunk) -> None:
        target = chunk.target
        try:
            status = await create_batch(
                self.book,
                self.clients[target],
                self.breakers[target],
                target,
                chunk.rows,
                chunk.entries,
                size=chunk.size,
                worst=chunk.worst,
                max_attempts=self.max_attempts,
                wait=self.limits.poll_initial,
            )
        except AmbiguousCreateError:
            # The batch may exist: keep the intent for _resolve_orphans (next run)
            # and submit nothing more, rather than risk paying twice.
            self.loop.halt("ambiguous_create")
            self._say("batch create got no answer; re-run to adopt or resubmit it")
            return
        self.requests += len(chunk.rows)
        self._say(
            f"batch {status.id} ({target.label()}): {len(chunk.rows)} requests, "
            f"{chunk.size:,} bytes, "
            f"worst case ${chunk.worst:.4f}"
        )

    async def _resolve_orphans(self) -> None:
        """An intent without a batch id: adopt the batch create made, if it exists."""
        for row in self.book.batches("creating", pool=False):
            adopted = await adopt_orphan(self.book, self.clients[self._target_of(row)], row)
            if adopted is not None:
                self._say(f"adopted batch {adopted} created before the last run stopped")

    # -- polling and collecting -------------------------------------------------------------
    async def _poll(self, flight: list[BatchRow]) -> bool:
        ended = False
        for batch in flight:
            assert batch.id is not None
            state = await poll_batch(self.book, self.clients[self._target_of(batch)], batch)
            if state == "waiting":
                continue
            if state == "lost":
                self._say(f"batch {batch.id} is gone (404); its requests will be retried")
            else:
                await self._collect(batch)
            ended = True
        return ended

    async def _collect(self, batch: BatchRow) -> None:
        assert batch.id is not None
        target = self._target_of(batch)
        client = self.clients[target]
        rows = self.book.requests(batch.seq)
        async for result in client.results(batch.id):
            row = rows.get(result.custom_id)
            if row is None or row.result is not None:
                continue  # not ours, or already committed by an earlier read
            self._apply(row, result, target)
        for row in self.book.unanswered(batch.seq):
            self._apply(row, BatchResult(row.custom_id, "missing"), target)
        self.book.set_status(batch.seq, "collected")
        await client.discard(batch.id)  # every answer is in the ledger: no files left

    def _apply(self, row: RequestRow, result: BatchResult, target: Target) -> None:
        job = self.book.job(row.job_id)
        breaker = self.breakers[target]
        if result.type == "succeeded":
            breaker.success()
            completion = self.clients[target].completion(
                target.model, self.prices[target], row.prefill, result.message
            )
            final = final_stage(self.corpus, job) == row.stage
            self.ledger.record_stage(
                job,
                row.stage,
                completion,
                target.provider,
                time.time(),
                final=final,
                batch_custom_id=row.custom_id,
                key=row.key,
            )
            self.loop.guard.settle(0.0, completion.cost_usd)
            self.loop.paid(completion)
            if final:
                self._tick(ok=True, job=job)
            return
        self._record_failure(job, row, result, breaker)

    def _record_failure(
        self, job: Job, row: RequestRow, result: BatchResult, breaker: CircuitBreaker
    ) -> None:
        error, permanent = result_error(result)
        message = str(error)
        give_up = permanent or row.attempt >= self.max_attempts
        # An account-level refusal says nothing about the job: it stays pending.
        fails_job = give_up and account_refusal(error) is None
        self.book.record_failure(
            job,
            row,
            result.type,
            error,
            message,
            status=400 if permanent else None,
            fatal=give_up,
            fail_job=fails_job,
        )
        give_up = fails_job
        breaker.failure(error)  # after the commit: what was answered stays answered
        self.loop.error(result.type)
        if give_up:
            self._tick(ok=False, job=job)

    def _fail(self, job: Job, stage: str, why: str) -> None:
        self.ledger.fail_job(job, stage, retry_error(why))
        self._tick(ok=False, job=job)

    def _tick(self, ok: bool, job: Job) -> None:
        extra = ""
        if self.loop.progress.enabled:
            extra = f"{len(self.book.batches('in_progress'))} batches in flight"
        self.loop.finished(ok, extra, job=job)

    def _say(self, text: str) -> None:
        self.loop.progress.say(text)


async def run_batch_generation(
    corpus: Corpus, ledger: Store, options: RunOptions, price: ModelPrice | None
) -> GenerateResult:
    clients = make_batch_clients(corpus)  # a missing key raises before anything is sent
    loop = GenerationLoop(corpus, ledger, options, price, batch=True)
    # The pool was filled before (pipeline.generate); jobs it still owes wait.
    await fill_ideas(loop, ledger, None)
    try:
        return await loop.run(BatchSubmitter(corpus, ledger, clients, price))
    except ProviderError as exc:
        # What the breaker does not cover (a 400 at create, a create still failing after
        # backend.max_attempts) ends the run: one line, with its class's exit code.
        exc.args = (f"batch request failed: {exc}",)
        raise
    finally:
        for client in clients.values():
            await client.aclose()
