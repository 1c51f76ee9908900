"""`generate --batch`: pending stages through the Message Batches API.

Every pending job's next stage becomes one batch request; requests are packed
into batches within the API's limits (`backend.batch.max_requests` /
`max_bytes`), each batch's custom ids are committed to the ledger before create
is called and its id right after (batch_store.py). Batches are polled with
backoff; when one ends, each result is mapped back by its custom id only (the
API does not keep request order) and committed exactly as the immediate runner
commits a stage (`Ledger.record_stage`, cost from our price table at the batch
discount). The jobs that advanced then get their next stage in a new batch.

Errored, expired, canceled and missing results are retried in a later batch
with a new attempt number, up to `backend.max_attempts`; an invalid request
fails its job at once. A batch whose worst-case cost could take spend past
--max-cost is not submitted.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import sys
import time
from dataclasses import dataclass, field

from tqdm import tqdm

from sdf_corpus.errors import (
    AmbiguousCreateError,
    PermanentError,
    ProviderError,
    RetryableError,
)
from sdf_corpus.generate.backends.anthropic import MIN_CACHE_CHARS, build_params, message_completion
from sdf_corpus.generate.backends.anthropic_batches import BatchClient, BatchEntry, BatchResult
from sdf_corpus.generate.backends.base import Request
from sdf_corpus.generate.batch_store import BatchBook, BatchRow, RequestRow
from sdf_corpus.generate.breaker import CircuitBreaker, account_refusal
from sdf_corpus.generate.chain import build_request, parse_output, stages_for
from sdf_corpus.generate.ledger import Ledger
from sdf_corpus.generate.pricing import ModelPrice, cost_usd
from sdf_corpus.generate.runner import GenerateResult, RunOptions
from sdf_corpus.plan.job import Job
from sdf_corpus.prompts import job_context
from sdf_corpus.spec.load import Corpus

__all__ = ["BatchRunner", "custom_id", "run_batch_generation", "worst_case_cost"]

_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
# Error types the API gives for a request that will never succeed as sent.
_PERMANENT = {
    "invalid_request_error",
    "authentication_error",
    "permission_error",
    "not_found_error",
    "request_too_large",
}
# Statuses of the immediate API for the same error types, for the circuit breaker.
_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
}
_ENVELOPE_BYTES = 64  # '{"requests":[...]}' and separators
# An intent's batch may carry a provider timestamp a little before our own clock.
_CLOCK_SLACK = 300.0


def custom_id(job_id: str, stage: str, attempt: int) -> str:
    """Deterministic from job, stage and attempt; valid for the API's pattern."""
    cid = f"{job_id}-{stage}-{attempt}"
    if _CUSTOM_ID.match(cid):
        return cid
    stage_hash = hashlib.blake2b(stage.encode(), digest_size=5).hexdigest()
    return f"{job_id[:40]}-{stage_hash}-{attempt}"


def worst_case_cost(price: ModelPrice | None, request: Request) -> float:
    """Most a request can cost in a batch: prefix as a cache write, all of max_tokens."""
    if price is None:
        return 0.0
    plain = len(request.prompt) + len(request.system) + len(request.prefill)
    prefix = len(request.cache_prefix)
    cached = prefix >= MIN_CACHE_CHARS
    return cost_usd(
        price,
        (plain + (0 if cached else prefix)) // 3 + 1,
        request.max_tokens,
        0,
        prefix // 3 + 1 if cached else 0,
        batch=True,
    )


@dataclass
class _Chunk:
    rows: list[RequestRow] = field(default_factory=list)
    entries: list[BatchEntry] = field(default_factory=list)
    size: int = _ENVELOPE_BYTES
    worst: float = 0.0


class BatchRunner:
    def __init__(
        self,
        corpus: Corpus,
        ledger: Ledger,
        client: BatchClient,
        options: RunOptions,
        price: ModelPrice | None,
    ) -> None:
        self.corpus, self.ledger, self.client, self.options = corpus, ledger, client, options
        self.book = BatchBook(ledger)
        spec = corpus.spec.backend
        self.model, self.provider, self.max_attempts = spec.model, spec.provider, spec.max_attempts
        self.limits = spec.batch
        self.price = price
        self.breaker = CircuitBreaker(
            spec.breaker_threshold,
            provider="anthropic",
            endpoint=client.endpoint,
            connect_grace=spec.connect_grace,
        )
        self.spent = ledger.totals().cost_usd
        self.result = GenerateResult()
        self.stop = False
        totals = ledger.totals()
        self.bar = tqdm(
            total=totals.jobs,
            initial=totals.done + totals.failed,
            unit="doc",
            desc="generate (batch)",
            disable=not options.progress,
            mininterval=0.5,
            dynamic_ncols=True,
        )

    # -- the loop -------------------------------------------------------------------------
    async def run(self) -> GenerateResult:
        try:
            return await self._run()
        finally:
            self.bar.close()

    async def _run(self) -> GenerateResult:
        await self._resolve_orphans()
        delay, changed = self.limits.poll_initial, True
        while True:
            if changed and not self.stop:
                await self._submit_ready()
            flight = self.book.batches("in_progress", "ended")
            if not flight:
                break
            changed = await self._poll(flight)
            if changed:
                delay = self.limits.poll_initial  # something ended: next stages are ready
            else:
                await asyncio.sleep(delay)
                delay = min(delay * 1.5, self.limits.poll_max)
        self.result.spent_usd = self.spent
        return self.result

    def _reserved(self) -> float:
        return sum(b.worst_cost_usd for b in self.book.batches("in_progress", "ended", "creating"))

    # -- submitting -----------------------------------------------------------------------
    async def _submit_ready(self) -> None:
        chunk = _Chunk()
        reserved = self._reserved()
        for job in self.book.ready_jobs():
            item = self._next_request(job)
            if item is None:
                continue
            row, entry, worst = item
            size = (
                len(json.dumps({"custom_id": entry.custom_id, "params": entry.params}).encode()) + 1
            )
            if chunk.rows and (
                len(chunk.rows) >= self.limits.max_requests
                or chunk.size + size > self.limits.max_bytes
            ):
                await self._submit(chunk)
                if self.stop:
                    return
                reserved += chunk.worst
                chunk = _Chunk()
            limit = self.options.max_cost
            if limit is not None and self.spent + reserved + chunk.worst + worst > limit:
                self.stop, self.result.stopped = True, "max_cost"
                break
            chunk.rows.append(row)
            chunk.entries.append(entry)
            chunk.size += size
            chunk.worst += worst
        if chunk.rows:
            await self._submit(chunk)

    def _next_request(self, job: Job) -> tuple[RequestRow, BatchEntry, float] | None:
        genre = self.corpus.genres[job.genre]
        done = self.ledger.outputs(job.id)
        context = job_context(self.corpus, job)
        for stage in stages_for(genre, self.provider):
            if stage.name in done:
                context["stages"][stage.name] = parse_output(stage, done[stage.name].text, job)
                continue
            attempt = self.book.attempts(job.id, stage.name) + 1
            if attempt > self.max_attempts:
                self._fail(job, stage.name, "attempts exhausted in earlier batches")
                return None
            request = build_request(self.corpus, job, stage, context, self.provider)
            cid = custom_id(job.id, stage.name, attempt)
            row = RequestRow(cid, job.id, stage.name, attempt, request.prefill)
            entry = BatchEntry(cid, build_params(self.model, request))
            return row, entry, worst_case_cost(self.price, request)
        return None

    async def _submit(self, chunk: _Chunk) -> None:
        for attempt in range(1, self.max_attempts + 1):
            seq = self.book.open_intent(chunk.rows, chunk.size, chunk.worst)
            try:
                status = await self.client.create(chunk.entries)
            except AmbiguousCreateError:
                # The batch may exist: keep the intent for _resolve_orphans (next run)
                # and submit nothing more, rather than risk paying twice.
                self.stop, self.result.stopped = True, "ambiguous_create"
                self._say("batch create got no answer; re-run to adopt or resubmit it")
                return
            except RetryableError as exc:
                self.book.drop_intent(seq)
                self.breaker.failure(exc)  # raises ProviderStoppedError when it must stop
                if attempt == self.max_attempts:
                    self.breaker.gave_up(exc)
                    raise
                await asyncio.sleep(max(exc.retry_after or 0.0, self.limits.poll_initial))
                continue
            except ProviderError as exc:
                self.book.drop_intent(seq)
                # A refused create refuses every request it carries.
                self.breaker.failure(exc, count=len(chunk.rows))
                raise
            break
        self.breaker.success()
        self.book.attach(seq, status.id)
        self.result.requests += len(chunk.rows)
        self._say(
            f"batch {status.id}: {len(chunk.rows)} requests, {chunk.size:,} bytes, "
            f"worst case ${chunk.worst:.4f}"
        )

    async def _resolve_orphans(self) -> None:
        """An intent without a batch id: adopt the batch create made, if it exists."""
        for row in self.book.batches("creating"):
            known = self.book.known_ids()
            recent = await self.client.recent(row.created_at - _CLOCK_SLACK)
            fits = [b for b in recent if b.id not in known and b.requests == row.requests]
            if fits:
                best = min(fits, key=lambda b: abs(b.created_at - row.created_at))
                self.book.attach(row.seq, best.id)
                self._say(f"adopted batch {best.id} created before the last run stopped")
            else:
                self.book.orphan_lost(row.seq)

    # -- polling and collecting -------------------------------------------------------------
    async def _poll(self, flight: list[BatchRow]) -> bool:
        ended = False
        for batch in flight:
            assert batch.id is not None
            if batch.status != "ended":
                try:
                    status = await self.client.retrieve(batch.id)
                except PermanentError as exc:
                    if exc.status != 404:
                        raise
                    self._say(f"batch {batch.id} is gone (404); its requests will be retried")
                    self.book.orphan_lost(batch.seq)
                    ended = True
                    continue
                except ProviderError:
                    continue  # transient: poll again later
                if status.processing_status != "ended":
                    continue
                self.book.set_status(batch.seq, "ended")
            await self._collect(batch)
            ended = True
        return ended

    async def _collect(self, batch: BatchRow) -> None:
        assert batch.id is not None
        rows = self.book.requests(batch.seq)
        async for result in self.client.results(batch.id):
            row = rows.get(result.custom_id)
            if row is None or row.result is not None:
                continue  # not ours, or already committed by an earlier read
            self._apply(row, result)
        for row in self.book.unanswered(batch.seq):
            self._apply(row, BatchResult(row.custom_id, "missing"))
        self.book.set_status(batch.seq, "collected")

    def _apply(self, row: RequestRow, result: BatchResult) -> None:
        job = self.book.job(row.job_id)
        if result.type == "succeeded":
            self.breaker.success()
            stages = stages_for(self.corpus.genres[job.genre], self.provider)
            completion = message_completion(
                self.model, self.price, row.prefill, result.message, batch=True
            )
            final = stages[-1].name == row.stage
            self.ledger.record_stage(
                job,
                row.stage,
                completion,
                "anthropic",
                time.time(),
                final=final,
                batch_custom_id=row.custom_id,
            )
            self.spent += completion.cost_usd
            if final:
                self.result.jobs_done += 1
                self._tick()
            return
        self._record_failure(job, row, result)

    def _record_failure(self, job: Job, row: RequestRow, result: BatchResult) -> None:
        permanent = result.type == "errored" and result.error_type in _PERMANENT
        message = (
            f"batch {result.type}: {result.error_type} {result.error_message}".strip()
            if result.type == "errored"
            else f"batch request {result.type}"
        )
        status = _STATUS.get(result.error_type or "") if result.type == "errored" else None
        error: ProviderError = (
            PermanentError(message, status=status) if permanent else _BatchRetry(message)
        )
        give_up = permanent or row.attempt >= self.max_attempts
        db = self.ledger.db
        db.execute("BEGIN")
        self.ledger.record_error(
            job, row.stage, time.time(), error, status=400 if permanent else None, fatal=give_up
        )
        self.book.mark(row.custom_id, result.type, message[:2000])
        # An account-level refusal says nothing about the job: it stays pending.
        give_up = give_up and account_refusal(error) is None
        if give_up:
            self.ledger.fail_job(job, row.stage, error)
        db.execute("COMMIT")
        self.breaker.failure(error)  # after the commit: what was answered stays answered
        self.result.errors[result.type] = self.result.errors.get(result.type, 0) + 1
        if give_up:
            self.result.jobs_failed += 1
            self._tick()

    def _fail(self, job: Job, stage: str, why: str) -> None:
        self.ledger.fail_job(job, stage, _BatchRetry(why))
        self.result.jobs_failed += 1
        self._tick()

    def _tick(self) -> None:
        self.bar.update(1)
        flying = len(self.book.batches("in_progress"))
        self.bar.set_postfix_str(f"{flying} batches in flight, ${self.spent:.4f}", refresh=False)

    def _say(self, text: str) -> None:
        if self.options.progress:
            self.bar.write(text, file=sys.stderr)


class _BatchRetry(ProviderError):
    """A batch request that may succeed if sent again (errored, expired, canceled)."""


async def run_batch_generation(
    corpus: Corpus, ledger: Ledger, options: RunOptions, price: ModelPrice | None
) -> GenerateResult:
    spec = corpus.spec.backend
    client = BatchClient(api_base=spec.api_base, timeout=max(spec.timeout, 60.0))
    try:
        return await BatchRunner(corpus, ledger, client, options, price).run()
    except ProviderError as exc:
        # What the breaker does not cover (a 400 at create, a create still failing after
        # backend.max_attempts) ends the run: one line, with its class's exit code.
        exc.args = (f"batch request failed: {exc}",)
        raise
    finally:
        await client.aclose()
