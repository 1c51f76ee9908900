"""The Message Batches API through the official SDK (`client.messages.batches`).

A thin seam: the batch runner (`generate/batch.py`) owns chunking, the ledger,
polling and retries; this module only turns SDK calls and objects into plain
values and SDK exceptions into our `ProviderError`s (keys scrubbed).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anthropic
import httpx

from sdf_corpus.errors import AmbiguousCreateError, KeyMissingError, ProviderError
from sdf_corpus.generate.backends.anthropic import (
    KEY_VARIABLE,
    build_params,
    map_anthropic_error,
    message_completion,
)
from sdf_corpus.pricing.prices import ModelPrice
from sdf_corpus.sampling import Completion, Request

__all__ = ["BatchClient", "BatchEntry", "BatchResult", "BatchStatus"]


@dataclass(frozen=True, slots=True)
class BatchEntry:
    custom_id: str
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BatchStatus:
    id: str
    processing_status: str  # in_progress | canceling | ended
    created_at: float
    requests: int
    token: str = ""  # our intent's token, where the API keeps metadata (OpenAI's does)


@dataclass(frozen=True, slots=True)
class BatchResult:
    custom_id: str
    type: str  # succeeded | errored | canceled | expired
    message: Any = None  # an SDK Message when succeeded
    error_type: str = ""
    error_message: str = ""


def _status(batch: Any) -> BatchStatus:
    counts = batch.request_counts
    total = sum(
        int(getattr(counts, k, 0) or 0)
        for k in ("processing", "succeeded", "errored", "canceled", "expired")
    )
    created: datetime = batch.created_at
    return BatchStatus(batch.id, str(batch.processing_status), created.timestamp(), total)


def _result(line: Any) -> BatchResult:
    result = line.result
    kind = str(result.type)
    if kind == "succeeded":
        return BatchResult(line.custom_id, kind, message=result.message)
    if kind == "errored":
        error = getattr(result.error, "error", None)
        return BatchResult(
            line.custom_id,
            kind,
            error_type=str(getattr(error, "type", "") or "api_error"),
            error_message=str(getattr(error, "message", "") or ""),
        )
    return BatchResult(line.custom_id, kind)


def _never_sent(exc: Exception) -> bool:
    """A refused connection: the create never reached the API, so no batch exists."""
    return not isinstance(exc, anthropic.APITimeoutError) and isinstance(
        exc.__cause__, httpx.ConnectError
    )


class BatchClient:
    name = "anthropic"
    limits = (100_000, 256_000_000)  # requests, JSON bytes per batch

    def __init__(self, api_base: str | None = None, timeout: float = 120.0) -> None:
        key = os.environ.get(KEY_VARIABLE, "").strip()
        if not key:
            raise KeyMissingError(
                f"backend anthropic needs an API key: set {KEY_VARIABLE} in the environment"
            )
        self._key = key
        self._client = anthropic.AsyncAnthropic(
            api_key=key,
            base_url=api_base or os.environ.get("ANTHROPIC_BASE_URL") or None,
            max_retries=2,  # reads only; create() turns retries off
            timeout=timeout,
        )

    @property
    def endpoint(self) -> str:
        return str(self._client.base_url)

    def params(self, model: str, request: Request) -> dict[str, Any]:
        return build_params(model, request)

    def line(self, entry: BatchEntry) -> bytes:
        """The entry as the create body carries it (for the size limit)."""
        return (json.dumps({"custom_id": entry.custom_id, "params": entry.params}) + ",").encode()

    def completion(
        self, model: str, price: ModelPrice | None, prefill: str, message: Any
    ) -> Completion:
        return message_completion(model, price, prefill, message, batch=True)

    async def discard(self, batch_id: str) -> None:
        """Nothing to tidy: Message Batches keep no uploaded files."""

    async def create(self, entries: Sequence[BatchEntry], token: str = "") -> BatchStatus:
        requests: Any = [{"custom_id": e.custom_id, "params": e.params} for e in entries]
        try:
            # Never retried by the SDK: a retry after a lost answer could create a twin.
            client = self._client.with_options(max_retries=0)
            batch = await client.messages.batches.create(requests=requests)
        except (anthropic.APITimeoutError, anthropic.APIConnectionError) as exc:
            error: ProviderError = map_anthropic_error(exc, self._key)
            if not _never_sent(exc):
                error = AmbiguousCreateError(str(error))
        except Exception as exc:
            error = map_anthropic_error(exc, self._key)
        else:
            return _status(batch)
        raise error

    async def retrieve(self, batch_id: str) -> BatchStatus:
        try:
            return _status(await self._client.messages.batches.retrieve(batch_id))
        except Exception as exc:
            error = map_anthropic_error(exc, self._key)
        raise error

    async def results(self, batch_id: str) -> AsyncIterator[BatchResult]:
        try:
            lines = await self._client.messages.batches.results(batch_id)
            async for line in lines:
                yield _result(line)
        except Exception as exc:
            error = map_anthropic_error(exc, self._key)
        else:
            return
        raise error

    async def recent(self, since: float) -> list[BatchStatus]:
        """Batches of this workspace created at or after `since` (newest first)."""
        found: list[BatchStatus] = []
        try:
            async for batch in self._client.messages.batches.list(limit=100):
                status = _status(batch)
                if status.created_at < since:
                    break
                found.append(status)
        except Exception as exc:
            error = map_anthropic_error(exc, self._key)
        else:
            return found
        raise error

    async def aclose(self) -> None:
        await self._client.close()
