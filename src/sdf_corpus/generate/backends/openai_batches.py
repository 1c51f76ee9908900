"""OpenAI-format batches through litellm's Files and Batches API (`litellm.acreate_file`,
`acreate_batch`, `aretrieve_batch`, `alist_batches`, `afile_content`, `afile_delete`).

The same seam as `anthropic_batches.BatchClient`: the batch runner (`generate/batch.py`)
owns chunking, the ledger, polling and retries; this module turns one chunk into a
JSONL file of `{"custom_id", "method", "url", "body"}` lines, uploads it, creates the
batch, and reads the output and error files back as `BatchResult`s, each by its own
custom id. SDK errors become our `ProviderError`s, keys scrubbed (litellm.py).

Providers (the `backend.model` prefix litellm routes by): `openai` is tested against the
fake provider's Files and Batches API; `azure` and `hosted_vllm` speak the same format
and are untested here, as are `vertex_ai` and `bedrock` (litellm translates the file).

- **One model per file.** OpenAI refuses a batch file that names two models, so the
  runner chunks by target (provider and model) and this client is per target.
- **Limits.** 50,000 requests and 200 MB per input file (OpenAI's); the runner chunks
  within `min(backend.batch.*, these)`.
- **Adoption.** Every batch carries `metadata.sdf_corpus_intent`, the ledger intent's
  token; after a kill between create and the ledger commit, `recent()` finds the
  batch by that token, never by guessing.
- **No junk.** The input file of a refused create is deleted at once; a collected
  batch's input, output and error files are deleted after its results are committed.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import httpx
import litellm
from litellm import exceptions as llm_errors

from sdf_corpus.errors import AmbiguousCreateError, KeyMissingError, ProviderError
from sdf_corpus.generate.backends._common import anchor_prefill
from sdf_corpus.generate.backends.anthropic_batches import BatchEntry, BatchResult, BatchStatus
from sdf_corpus.generate.backends.litellm import chat_body, map_litellm_error
from sdf_corpus.pricing.prices import ModelPrice, cost_usd
from sdf_corpus.sampling import Completion, Request
from sdf_corpus.targets import LITELLM_BATCH_PROVIDERS

__all__ = ["BATCH_PROVIDERS", "OPENAI_FILE_LIMITS", "LitellmBatchClient"]

BATCH_PROVIDERS = LITELLM_BATCH_PROVIDERS  # litellm.acreate_batch speaks OpenAI's format
OPENAI_FILE_LIMITS = (50_000, 200_000_000)  # requests, bytes per input file
_ENDPOINT = "/v1/chat/completions"
_ENDED = {"completed", "failed", "expired", "cancelled"}
_FINISH = {"length": "max_tokens", "stop": "end"}
_KEYS = {"openai": "OPENAI_API_KEY", "azure": "AZURE_API_KEY", "hosted_vllm": "HOSTED_VLLM_API_KEY"}


def split_model(model: str) -> tuple[str, str]:
    """("openai", "gpt-5-mini") for "openai/gpt-5-mini"; a bare id is OpenAI's."""
    provider, sep, name = model.partition("/")
    return (provider, name) if sep and provider in BATCH_PROVIDERS else ("openai", model)


def _error_type(status: int | None, code: str) -> str:
    """The Anthropic-style error type the batch runner classifies results by."""
    if code == "insufficient_quota":
        return "billing_error"
    return {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        413: "request_too_large",
        422: "invalid_request_error",
    }.get(status or 0, "api_error")


def _result(line: Mapping[str, Any]) -> BatchResult:
    cid = str(line.get("custom_id", ""))
    response = line.get("response") or {}
    error = line.get("error") or {}
    status = response.get("status_code")
    if status == 200:
        return BatchResult(cid, "succeeded", message=response.get("body"))
    if error.get("code") == "batch_expired":
        return BatchResult(cid, "expired")
    body_error = (response.get("body") or {}).get("error") or error
    code = str(body_error.get("code") or body_error.get("type") or "")
    return BatchResult(
        cid,
        "errored",
        error_type=_error_type(status, code),
        error_message=str(body_error.get("message") or code)[:500],
    )


def _no_answer(exc: BaseException) -> bool:
    """The create may have reached the API without its answer reaching us: a timeout
    (litellm gives it status 408), a connection lost after sending, or an answer that
    did not parse. Only a refused connection proves nothing was sent; a status the
    API answered with proves it refused."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            break
        if isinstance(seen, httpx.ConnectError):
            return False  # never connected: nothing was sent
        seen = seen.__cause__ or seen.__context__
    status = getattr(exc, "status_code", None)
    if isinstance(exc, llm_errors.Timeout | llm_errors.APIConnectionError) or status == 408:
        return True
    return not isinstance(status, int)


def _status(batch: Any) -> BatchStatus:
    counts = getattr(batch, "request_counts", None)
    total = int(getattr(counts, "total", 0) or 0)
    metadata = getattr(batch, "metadata", None) or {}
    state = "ended" if str(batch.status) in _ENDED else "in_progress"
    token = str(metadata.get("sdf_corpus_intent", "")) if isinstance(metadata, Mapping) else ""
    return BatchStatus(str(batch.id), state, float(batch.created_at or 0), total, token)


class LitellmBatchClient:
    """One target's (provider and model's) batches through litellm."""

    name = "litellm"

    def __init__(self, model: str, api_base: str | None = None, timeout: float = 120.0) -> None:
        self.model = model
        self.provider, self.model_id = split_model(model)
        self.api_base = api_base
        self.timeout = timeout
        variable = _KEYS.get(self.provider, "")
        key = os.environ.get(variable, "").strip() if variable else ""
        if not key and api_base:
            key = "sk-none"  # a local OpenAI-compatible server needs no key; the client asks
        if not key and variable:
            raise KeyMissingError(
                f"backend litellm model {model!r} needs an API key: set {variable} in the "
                "environment"
            )
        self._key = key or None
        self.limits = OPENAI_FILE_LIMITS

    @property
    def endpoint(self) -> str:
        return self.api_base or f"litellm's default endpoint for {self.provider}"

    def _kw(self) -> dict[str, Any]:
        kw: dict[str, Any] = {"custom_llm_provider": self.provider, "timeout": self.timeout}
        if self.api_base:
            kw["api_base"] = self.api_base
        if self._key:
            kw["api_key"] = self._key
        return kw

    # -- what a line carries, and what comes back -------------------------------------
    def params(self, model: str, request: Request) -> dict[str, Any]:
        return chat_body(split_model(model)[1], request)

    def line(self, entry: BatchEntry) -> bytes:
        line = {"custom_id": entry.custom_id, "method": "POST", "url": _ENDPOINT}
        return (json.dumps({**line, "body": entry.params}, ensure_ascii=False) + "\n").encode()

    def completion(
        self, model: str, price: ModelPrice | None, prefill: str, message: Any
    ) -> Completion:
        """A Completion from a chat.completion body, costed from our table at the
        batch discount (never from litellm's map: see pricing/prices.py)."""
        body: Mapping[str, Any] = message or {}
        choice = (body.get("choices") or [{}])[0]
        usage = body.get("usage") or {}
        cached = int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
        inp = max(0, int(usage.get("prompt_tokens") or 0) - cached)
        out = int(usage.get("completion_tokens") or 0)
        cost = 0.0 if price is None else cost_usd(price, inp, out, cached, 0, batch=True)
        reason = str(choice.get("finish_reason") or "")
        generated = str((choice.get("message") or {}).get("content") or "")
        return Completion(
            text=anchor_prefill(prefill, generated, echoed=True),
            stop_reason=_FINISH.get(reason, reason),
            cost_usd=cost,
            cost_source="unknown" if price is None else "table",
            model=str(body.get("model") or model),
            input_tokens=inp,
            output_tokens=out,
            cache_read_tokens=cached,
        )

    # -- the API ---------------------------------------------------------------------
    async def create(self, entries: Sequence[BatchEntry], token: str = "") -> BatchStatus:
        data = b"".join(self.line(e) for e in entries)
        try:
            upload = await litellm.acreate_file(
                file=("requests.jsonl", data, "application/jsonl"), purpose="batch", **self._kw()
            )
        except Exception as exc:  # no batch can exist without its file: never ambiguous
            error: ProviderError = map_litellm_error(exc)
            raise error from None
        try:
            batch = await litellm.acreate_batch(
                completion_window="24h",
                endpoint=_ENDPOINT,
                input_file_id=upload.id,
                metadata={"sdf_corpus_intent": token},
                **self._kw(),
            )
        except Exception as exc:
            error = map_litellm_error(exc)
            if _no_answer(exc):
                # The batch may exist: the next run adopts it by its token, never resubmits.
                raise AmbiguousCreateError(str(error)) from None
            await self._delete(upload.id)  # refused: keep no orphan file
            raise error from None
        return _status(batch)

    async def retrieve(self, batch_id: str) -> BatchStatus:
        try:
            return _status(await litellm.aretrieve_batch(batch_id=batch_id, **self._kw()))
        except Exception as exc:
            error = map_litellm_error(exc)
        raise error

    async def results(self, batch_id: str) -> AsyncIterator[BatchResult]:
        try:
            batch = await litellm.aretrieve_batch(batch_id=batch_id, **self._kw())
            files = [f for f in (batch.output_file_id, batch.error_file_id) if f]
            texts = [await self._content(f) for f in files]
        except Exception as exc:
            error = map_litellm_error(exc)
            raise error from None
        for text in texts:
            for raw in text.splitlines():
                if raw.strip():
                    yield _result(json.loads(raw))

    async def _content(self, file_id: str) -> str:
        content = await litellm.afile_content(file_id=file_id, **self._kw())
        return bytes(content.content).decode("utf-8")

    async def recent(self, since: float) -> list[BatchStatus]:
        """Batches created at or after `since`, with their intent tokens."""
        try:
            page = await litellm.alist_batches(limit=100, **self._kw())
        except Exception as exc:
            error = map_litellm_error(exc)
            raise error from None
        found = [_status(b) for b in getattr(page, "data", None) or []]
        return [b for b in found if b.created_at >= since]

    async def discard(self, batch_id: str) -> None:
        """Delete a collected batch's input, output and error files (best effort)."""
        try:
            batch = await litellm.aretrieve_batch(batch_id=batch_id, **self._kw())
        except Exception:  # nothing to tidy if it cannot be read; the results are in
            return
        for file_id in (batch.input_file_id, batch.output_file_id, batch.error_file_id):
            if file_id:
                await self._delete(file_id)

    async def _delete(self, file_id: str) -> None:
        try:
            await litellm.afile_delete(file_id=file_id, **self._kw())
        except Exception:  # best effort: an undeleted file costs storage, not correctness
            return

    async def aclose(self) -> None:
        return None
