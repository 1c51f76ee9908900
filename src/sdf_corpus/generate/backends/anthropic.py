"""Anthropic Messages API through the official SDK, with prompt caching.

Cost comes from our own price table (`pricing/prices.py`), never from the SDK or
litellm. The SDK's retries are off: the runner owns retrying.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping
from dataclasses import replace
from types import SimpleNamespace
from typing import Any, Literal

import anthropic
import httpx2

from sdf_corpus.errors import KeyMissingError, PermanentError, ProviderError, RetryableError
from sdf_corpus.generate.backends._common import (
    anchor_prefill,
    join_prompt,
    parse_retry_after,
    prefill_instruction,
    rate_headers,
    scrub,
)
from sdf_corpus.pricing.prices import (
    MIN_CACHE_CHARS,
    ModelPrice,
    base_model_id,
    cost_usd,
    lookup_price,
)
from sdf_corpus.sampling import Completion, Request

__all__ = ["AnthropicBackend", "build_params", "message_completion"]

KEY_VARIABLE = "ANTHROPIC_API_KEY"
_STOP_REASONS = {"max_tokens": "max_tokens", "end_turn": "end", "stop_sequence": "stop_sequence"}
# Statuses the API documents as transient besides 429 and 5xx.
_RETRY_STATUSES = {408, 409, 429}
_COMPACT = (",", ":")
_VERSION = re.compile(r"claude-(opus|sonnet|haiku|fable|mythos)-(\d+)(?:-(\d+))?$")


@functools.lru_cache(maxsize=64)
def _generation(model: str) -> tuple[str, tuple[int, int]] | None:
    """("opus", (4, 6)) for "claude-opus-4-6"; None for names we cannot read."""
    match = _VERSION.match(base_model_id(model))
    if match is None:
        return None
    minor = match.group(3)
    return match.group(1), (int(match.group(2)), int(minor) if minor else 0)


def supports_prefill(model: str) -> bool:
    """Claude 4.6 and later reject a trailing assistant turn with a 400."""
    generation = _generation(model)
    return generation is None or generation[1] < (4, 6)


def supports_sampling(model: str) -> bool:
    """Opus 4.7+ and the 5-series reject non-default temperature/top_p with a 400."""
    generation = _generation(model)
    if generation is None:
        return True
    family, version = generation
    if family in ("fable", "mythos"):
        return False
    return version < ((4, 7) if family == "opus" else (5, 0))


def _user_content(request: Request, prefill_in_prompt: bool) -> list[dict[str, Any]]:
    prompt = request.prompt
    if prefill_in_prompt and request.prefill:
        # No native prefill: ask for the opening instead; the reply is re-anchored.
        prompt = prefill_instruction(prompt, request.prefill)
    if _cacheable(request):
        return [{"type": "text", "text": prompt}]  # the prefix travels in `system`
    return [{"type": "text", "text": join_prompt(request.cache_prefix, prompt)}]


def _cacheable(request: Request) -> bool:
    return len(request.cache_prefix) >= MIN_CACHE_CHARS


def _system_blocks(request: Request) -> list[dict[str, Any]]:
    """The cached prefix goes first, ahead of the stage's own system text.

    The API caches the request up to the marked block in the order tools,
    system, messages; a stage system prompt placed before the prefix would make
    every stage of a genre a different cache entry.
    """
    blocks: list[dict[str, Any]] = []
    if _cacheable(request):
        blocks.append(
            {"type": "text", "text": request.cache_prefix, "cache_control": {"type": "ephemeral"}}
        )
    if request.system:
        blocks.append({"type": "text", "text": request.system})
    return blocks


def build_params(model: str, request: Request) -> dict[str, Any]:
    """The Messages API JSON body for one Request (also a batch entry's params)."""
    native_prefill = supports_prefill(model)
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": _user_content(request, not native_prefill)}
    ]
    if request.prefill and native_prefill:
        # The API rejects a final assistant turn that ends in whitespace.
        messages.append({"role": "assistant", "content": request.prefill.rstrip()})
    params: dict[str, Any] = {
        "model": model,
        "max_tokens": request.max_tokens,
        "messages": messages,
    }
    system = _system_blocks(request)
    if system:
        params["system"] = system
    if request.stop:
        params["stop_sequences"] = list(request.stop)
    if supports_sampling(model):
        # 1.0 is the API default; leaving it out keeps requests valid everywhere.
        if request.temperature != 1.0:
            params["temperature"] = request.temperature
        if request.top_p is not None:
            params["top_p"] = request.top_p
    return params


def _telemetry() -> Literal[False] | None:
    """The SDK opens an OpenTelemetry span per call by default, building every
    attribute even when no tracer records it: ~0.2 ms of CPU per request, a tenth
    of a process's request rate at high concurrency. Off, unless the environment
    configures tracing (the SDK's own ANTHROPIC_OPEN_TELEMETRY* variables or
    OpenTelemetry's OTEL_*), in which case the SDK decides as it always does."""
    if any(k.startswith(("ANTHROPIC_OPEN_TELEMETRY", "OTEL_")) for k in os.environ):
        return None
    return False


def request_body(model: str, request: Request) -> bytes:
    """`build_params` as the JSON the API reads. The system blocks are spliced in
    with the cached prefix's encoding reused: it is most of the body, and the same
    text for every request of a genre."""
    params = build_params(model, request)
    system = params.pop("system", None)
    head = json.dumps(params, separators=_COMPACT)
    if not system:
        return head.encode()
    blocks = ",".join(
        f'{{"type":"text","text":{_json_text(b["text"])},"cache_control":{{"type":"ephemeral"}}}}'
        if "cache_control" in b
        else json.dumps(b, separators=_COMPACT)
        for b in system
    )
    return f'{head[:-1]},"system":[{blocks}]}}'.encode()


@functools.lru_cache(maxsize=64)
def _json_text(text: str) -> str:
    return json.dumps(text)


class AnthropicBackend:
    name = "anthropic"

    def __init__(
        self,
        model: str,
        api_base: str | None = None,
        timeout: float = 60.0,
        prices: Mapping[str, ModelPrice] | None = None,
    ) -> None:
        key = os.environ.get(KEY_VARIABLE, "").strip()
        if not key:
            raise KeyMissingError(
                f"backend anthropic needs an API key: set {KEY_VARIABLE} in the environment"
            )
        self.model = model
        self._key = key
        self._price = lookup_price(model, prices)
        self._client = anthropic.AsyncAnthropic(
            api_key=key,
            base_url=api_base or os.environ.get("ANTHROPIC_BASE_URL") or None,
            max_retries=0,
            timeout=timeout,
            # The SDK's aiohttp transport: the default httpx pool scans every
            # connection per request, which made the client, not the provider, the
            # bottleneck at a few hundred requests in flight (benchmarks/RESULTS.md).
            http_client=anthropic.DefaultAioHttpClient(timeout=timeout),
            open_telemetry=_telemetry(),
        )

    @property
    def endpoint(self) -> str:
        """The URL requests go to, for messages that must name it."""
        return str(self._client.base_url)

    def __repr__(self) -> str:
        return f"AnthropicBackend(model={self.model!r}, base_url={self.endpoint!r})"

    async def complete(self, request: Request) -> Completion:
        try:
            # Posted as ready JSON through the SDK's client (its auth, headers, transport
            # and errors): `messages.create` would walk the params through its type
            # transforms and encode them with ensure_ascii=False, together ~0.3 ms of CPU
            # for a request with a constitution-sized prefix. The raw response also
            # carries the rate-limit headers the executor paces to.
            response = await self._client.post(
                "/v1/messages", cast_to=httpx2.Response, content=request_body(self.model, request)
            )
            completion = self._completion(request, response.content)
        except Exception as exc:  # every SDK failure becomes a ProviderError
            error = map_anthropic_error(exc, self._key)
        else:
            return replace(completion, rate_headers=rate_headers(response.headers))
        # Raised outside the handler so the SDK exception (whose text may echo
        # secrets) is not even kept as __context__.
        raise error

    async def aclose(self) -> None:
        await self._client.close()

    def _completion(self, request: Request, body: bytes) -> Completion:
        """Read from the JSON body, not `raw.parse()`: building the SDK's pydantic
        Message costs ~0.12 ms of CPU per response, for the few fields we keep."""
        message = json.loads(body, object_hook=lambda fields: SimpleNamespace(**fields))
        try:
            return message_completion(self.model, self._price, request.prefill, message)
        except (AttributeError, TypeError) as exc:  # a body that is JSON but no Message
            raise ValueError(f"unexpected message shape: {exc}") from None


def message_completion(
    model: str, price: ModelPrice | None, prefill: str, message: Any, *, batch: bool = False
) -> Completion:
    """A Completion from an SDK Message (immediate or a batch result), costed
    from our price table; `batch` applies the Message Batches discount."""
    generated = "".join(
        block.text for block in message.content if getattr(block, "type", "") == "text"
    )
    usage = message.usage
    counts: dict[str, Any] = {
        "input_tokens": int(usage.input_tokens or 0),
        "output_tokens": int(usage.output_tokens or 0),
        "cache_read_tokens": int(getattr(usage, "cache_read_input_tokens", 0) or 0),
        "cache_write_tokens": int(getattr(usage, "cache_creation_input_tokens", 0) or 0),
    }
    if price is None:
        cost, source = 0.0, "unknown"
    else:
        cost = cost_usd(
            price,
            counts["input_tokens"],
            counts["output_tokens"],
            counts["cache_read_tokens"],
            counts["cache_write_tokens"],
            batch=batch,
        )
        source = "table+batch" if batch else "table"
    reason = str(message.stop_reason or "")
    return Completion(
        text=anchor_prefill(prefill, generated, echoed=not supports_prefill(model)),
        stop_reason=_STOP_REASONS.get(reason, reason),
        cost_usd=cost,
        cost_source=source,
        model=str(message.model or model),
        **counts,
    )


def map_anthropic_error(exc: Exception, key: str) -> ProviderError:
    """Normalise an SDK exception; the key is scrubbed from every message."""
    if isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code
        detail = scrub(str(exc.api_message or exc.message), key)
        kind = exc.type or type(exc).__name__
        text = f"anthropic {status} {kind}: {detail}"
        if status in _RETRY_STATUSES or status >= 500:
            return RetryableError(
                text, status=status, retry_after=parse_retry_after(exc.response.headers)
            )
        return PermanentError(text, status=status)
    if isinstance(exc, anthropic.APITimeoutError):
        return RetryableError("anthropic request timed out")
    if isinstance(exc, anthropic.APIConnectionError):
        return RetryableError(
            f"anthropic connection failed: {scrub(str(exc), key)}", connection=True
        )
    if isinstance(exc, (anthropic.APIResponseValidationError, ValueError)):
        # JSON decode errors and pydantic validation errors are both ValueErrors.
        return RetryableError(
            f"anthropic returned a malformed response: {scrub(str(exc), key)[:300]}"
        )
    return PermanentError(f"anthropic call failed: {type(exc).__name__}: {scrub(str(exc), key)}")
