"""The batch APIs `generate --batch` can send through, one client per target.

Two implementations of one small interface (`BatchAPI`): Anthropic's Message Batches
(`backends/anthropic_batches.py`) and OpenAI-format Files + Batches through litellm
(`backends/openai_batches.py`). Per-stage models (`backend.stages`) may put stages on
both in one build: each target (provider and model) gets its own client, its own
chunks and its own circuit breaker.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Literal, Protocol

from sdf_corpus.errors import (
    AmbiguousCreateError,
    PermanentError,
    ProviderError,
    RetryableError,
    SpecError,
)
from sdf_corpus.generate.backends.anthropic_batches import BatchEntry, BatchResult, BatchStatus
from sdf_corpus.generate.breaker import CircuitBreaker
from sdf_corpus.pricing.prices import ModelPrice
from sdf_corpus.sampling import Completion, Request
from sdf_corpus.spec.load import Corpus
from sdf_corpus.store import BatchBook, BatchRow, RequestRow
from sdf_corpus.targets import Target, batch_supported, run_targets

__all__ = [
    "BatchAPI",
    "adopt_orphan",
    "check_batch_targets",
    "create_batch",
    "make_batch_clients",
    "make_breakers",
    "poll_batch",
    "result_error",
    "retry_error",
]

# An intent's batch may carry a provider timestamp a little before our own clock.
_CLOCK_SLACK = 300.0
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


class _BatchRetry(ProviderError):
    """A batch request that may succeed if sent again (errored, expired, canceled)."""


def retry_error(message: str) -> ProviderError:
    """A batch request that came back without an answer but may get one if sent again."""
    return _BatchRetry(message)


def result_error(result: BatchResult) -> tuple[ProviderError, bool]:
    """What a result that did not succeed means: the error (a PermanentError with the
    immediate API's status when sending it again cannot help) and whether it is permanent."""
    if result.type != "errored":
        return _BatchRetry(f"batch request {result.type}"), False
    message = f"batch {result.type}: {result.error_type} {result.error_message}".strip()
    if result.error_type in _PERMANENT:
        return PermanentError(message, status=_STATUS.get(result.error_type)), True
    return _BatchRetry(message), False


class BatchAPI(Protocol):
    name: str
    limits: tuple[int, int]  # requests, bytes per batch (the provider's caps)

    @property
    def endpoint(self) -> str: ...

    def params(self, model: str, request: Request) -> dict[str, Any]: ...

    def line(self, entry: BatchEntry) -> bytes: ...

    def completion(
        self, model: str, price: ModelPrice | None, prefill: str, message: Any
    ) -> Completion: ...

    async def create(self, entries: Sequence[BatchEntry], token: str = "") -> BatchStatus: ...

    async def retrieve(self, batch_id: str) -> BatchStatus: ...

    def results(self, batch_id: str) -> AsyncIterator[BatchResult]: ...

    async def recent(self, since: float) -> list[BatchStatus]: ...

    async def discard(self, batch_id: str) -> None: ...

    async def aclose(self) -> None: ...


def check_batch_targets(corpus: Corpus) -> None:
    """Every target of the run can be batched: anthropic, or litellm on a provider
    whose OpenAI-format batch API litellm speaks."""
    for target in run_targets(corpus.spec, corpus.genres):
        if batch_supported(target.provider, target.model):
            continue
        raise SpecError(
            "backend.provider",
            f"--batch cannot send {target.provider} {target.label()!r}: batches go through "
            "anthropic, or litellm with an openai/, azure/, hosted_vllm/, vertex_ai/ or "
            "bedrock/ model",
            "drop --batch or switch provider",
        )


def make_batch_clients(corpus: Corpus) -> dict[Target, BatchAPI]:
    """A client per target; a missing key raises before anything is submitted."""
    timeout = max(corpus.spec.backend.timeout, 60.0)
    clients: dict[Target, BatchAPI] = {}
    for target in run_targets(corpus.spec, corpus.genres):
        if target.provider == "anthropic":
            from sdf_corpus.generate.backends.anthropic_batches import BatchClient

            clients[target] = BatchClient(api_base=target.api_base, timeout=timeout)
        else:
            from sdf_corpus.generate.backends.openai_batches import LitellmBatchClient

            clients[target] = LitellmBatchClient(target.model, target.api_base, timeout)
    return clients


def make_breakers(
    corpus: Corpus, clients: Mapping[Target, BatchAPI]
) -> dict[Target, CircuitBreaker]:
    """A breaker per provider and model: a bad key for one API stops the run naming it."""
    spec = corpus.spec.backend
    return {
        t: CircuitBreaker(
            spec.breaker_threshold,
            provider=c.name,
            endpoint=c.endpoint,
            connect_grace=spec.connect_grace,
        )
        for t, c in clients.items()
    }


async def create_batch(
    book: BatchBook,
    client: BatchAPI,
    breaker: CircuitBreaker,
    target: Target,
    rows: Sequence[RequestRow],
    entries: Sequence[BatchEntry],
    *,
    size: int,
    worst: float,
    max_attempts: int,
    wait: float,
) -> BatchStatus:
    """The intent and its custom ids committed, create called, the batch id committed.

    AmbiguousCreateError (create got no answer): the intent stays for the next run to
    adopt, and the caller must send nothing more. A create refused or still failing after
    `max_attempts`: the intent is dropped (no batch exists) and the error raised; the
    breaker raises ProviderStoppedError first when the run must stop."""
    for attempt in range(1, max_attempts + 1):
        intent = book.open_intent(rows, size, worst, target.provider, target.model)
        try:
            status = await client.create(entries, token=intent.token)
        except AmbiguousCreateError:
            raise
        except RetryableError as exc:
            book.drop_intent(intent.seq)
            breaker.failure(exc)
            if attempt == max_attempts:
                breaker.gave_up(exc)
                raise
            await asyncio.sleep(max(exc.retry_after or 0.0, wait))
            continue
        except ProviderError as exc:
            book.drop_intent(intent.seq)
            # A refused create refuses every request it carries, and every later create
            # to this target would be refused alike: an account refusal (a bad key, no
            # batch access) stops the run at once, however few requests this batch held
            # (a pool round may carry fewer than the breaker's threshold).
            breaker.failure(exc, count=max(len(rows), breaker.threshold))
            raise
        breaker.success()
        book.attach(intent.seq, status.id)
        return status
    raise AssertionError("unreachable: the last attempt returns or raises")


async def adopt_orphan(book: BatchBook, client: BatchAPI, row: BatchRow) -> str | None:
    """An intent without a batch id: the batch its create made, attached, if it exists;
    else its requests count as lost (None).

    Where the API keeps metadata (OpenAI) the batch carries the intent's token and is
    found by it; Anthropic's is the unclaimed batch of the same size created closest to
    the intent."""
    known = book.known_ids()
    recent = await client.recent(row.created_at - _CLOCK_SLACK)
    fits = [b for b in recent if b.id not in known and b.token == row.token]
    if not fits:
        fits = [
            b for b in recent if b.id not in known and not b.token and b.requests == row.requests
        ]
    if not fits:
        book.orphan_lost(row.seq)
        return None
    best = min(fits, key=lambda b: abs(b.created_at - row.created_at))
    book.attach(row.seq, best.id)
    return best.id


async def poll_batch(
    book: BatchBook, client: BatchAPI, batch: BatchRow
) -> Literal["ended", "lost", "waiting"]:
    """Where a submitted batch stands, recorded in the ledger: "ended" (its results can be
    read), "lost" (the API says 404: the batch is gone, its requests go again) or
    "waiting" (still processing, or the poll failed in passing: poll again later)."""
    assert batch.id is not None
    if batch.status == "ended":
        return "ended"
    try:
        status = await client.retrieve(batch.id)
    except PermanentError as exc:
        if exc.status != 404:
            raise
        book.orphan_lost(batch.seq)
        return "lost"
    except ProviderError:
        return "waiting"
    if status.processing_status != "ended":
        return "waiting"
    book.set_status(batch.seq, "ended")
    return "ended"
