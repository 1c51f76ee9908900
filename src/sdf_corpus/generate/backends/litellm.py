"""Every other provider through litellm, including OpenAI-compatible servers.

Imported only by `make_backend`, so `import sdf_corpus` never loads litellm.
"""

from __future__ import annotations

import os

# Must precede the import: otherwise litellm fetches its cost map from the
# network at import time (slow, and impossible offline).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from collections.abc import Mapping
from typing import Any

import httpx
import litellm
import openai
from litellm import exceptions as llm_errors

from sdf_corpus.errors import KeyMissingError, PermanentError, ProviderError, RetryableError
from sdf_corpus.generate.backends._common import (
    anchor_prefill,
    join_prompt,
    parse_retry_after,
    prefill_instruction,
    rate_headers,
    scrub,
)
from sdf_corpus.pricing.prices import ModelPrice, cost_usd, lookup_price
from sdf_corpus.sampling import Completion, Request

__all__ = ["LitellmBackend", "chat_body", "map_litellm_error", "usage_counts"]

litellm.suppress_debug_info = True

_FINISH_REASONS = {"length": "max_tokens", "stop": "end", "end_turn": "end"}
_RETRYABLE = (
    llm_errors.RateLimitError,
    llm_errors.ServiceUnavailableError,
    llm_errors.InternalServerError,
    llm_errors.Timeout,
    llm_errors.APIConnectionError,
    llm_errors.BadGatewayError,
    llm_errors.APIResponseValidationError,
)
_PERMANENT = (
    llm_errors.BadRequestError,
    llm_errors.AuthenticationError,
    llm_errors.NotFoundError,
    llm_errors.PermissionDeniedError,
    llm_errors.UnprocessableEntityError,
)
_RETRY_STATUSES = {408, 409, 429}
# Names of environment variables whose values must never be echoed back.
_SECRET_SUFFIXES = ("_API_KEY", "_KEY", "_TOKEN", "_SECRET")


def _env_secrets() -> list[str]:
    return [
        value
        for name, value in os.environ.items()
        if name.upper().endswith(_SECRET_SUFFIXES) and len(value) >= 8
    ]


def _check_keys(model: str, api_base: str | None) -> None:
    """Fail before spending when litellm knows the provider's key is absent."""
    if api_base:
        return  # a custom endpoint (vLLM, Ollama, a proxy) may need no key at all
    try:
        report = litellm.validate_environment(model=model)
    except Exception:  # an unknown provider: let the first call explain itself
        return
    missing = [str(k) for k in report.get("missing_keys", []) or []]
    if missing:
        names = ", ".join(missing)
        raise KeyMissingError(
            f"backend litellm model {model!r} needs an API key: set {names} in the environment"
        )


def chat_body(model: str, request: Request) -> dict[str, Any]:
    """The OpenAI chat completions body for one Request (also an OpenAI batch line's body)."""
    prompt = join_prompt(request.cache_prefix, request.prompt)
    if request.prefill:
        # Few OpenAI-style servers continue a trailing assistant turn; ask instead.
        prompt = prefill_instruction(prompt, request.prefill)
    messages: list[dict[str, str]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    messages.append({"role": "user", "content": prompt})
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
    }
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.stop:
        body["stop"] = list(request.stop)
    return body


def usage_counts(usage: Any) -> dict[str, int]:
    """Token counts with input EXCLUDING cached tokens, as Anthropic reports it."""
    return _usage_counts(usage)


class LitellmBackend:
    name = "litellm"

    def __init__(
        self,
        model: str,
        api_base: str | None = None,
        timeout: float = 60.0,
        prices: Mapping[str, ModelPrice] | None = None,
    ) -> None:
        _check_keys(model, api_base)
        self.model = model
        self.api_base = api_base
        self.timeout = timeout
        self._price = lookup_price(model, prices)
        self._api_key: str | None = None
        if model.startswith("openai/") and api_base and not os.environ.get("OPENAI_API_KEY"):
            # Local OpenAI-compatible servers need no key, but the client insists on one.
            self._api_key = "sk-none"

    @property
    def endpoint(self) -> str:
        """The URL requests go to, for messages that must name it."""
        return self.api_base or f"litellm's default endpoint for {self.model}"

    def __repr__(self) -> str:
        return f"LitellmBackend(model={self.model!r}, api_base={self.api_base!r})"

    def _params(self, request: Request) -> dict[str, Any]:
        params = chat_body(self.model, request)
        params.update({"timeout": self.timeout, "num_retries": 0, "max_retries": 0})
        if self.api_base:
            params["api_base"] = self.api_base
        if self._api_key:
            params["api_key"] = self._api_key
        return params

    async def complete(self, request: Request) -> Completion:
        try:
            response = await litellm.acompletion(**self._params(request))
        except Exception as exc:  # every client failure becomes a ProviderError
            error: ProviderError = map_litellm_error(exc)
        else:
            try:
                return self._completion(request, response)
            except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
                error = RetryableError(f"litellm response is malformed: {type(exc).__name__}")
        # Raised outside the handler so the original exception (whose text may
        # echo secrets) is not even kept as __context__.
        raise error

    async def aclose(self) -> None:
        return None

    def _completion(self, request: Request, response: Any) -> Completion:
        choice = response.choices[0]
        generated = choice.message.content or ""
        counts = _usage_counts(response.usage)
        if self._price is not None:
            cost, source = (
                cost_usd(
                    self._price,
                    counts["input_tokens"],
                    counts["output_tokens"],
                    counts["cache_read_tokens"],
                    counts["cache_write_tokens"],
                ),
                "table",
            )
        else:
            cost, source = _litellm_cost(response)
        reason = str(choice.finish_reason or "")
        hidden = getattr(response, "_hidden_params", None) or {}
        return Completion(
            text=anchor_prefill(request.prefill, generated, echoed=True),
            stop_reason=_FINISH_REASONS.get(reason, reason),
            cost_usd=cost,
            cost_source=source,
            model=str(getattr(response, "model", "") or self.model),
            # litellm hands the provider's headers on here, OpenAI-style names first.
            rate_headers=rate_headers(hidden.get("additional_headers") or {}),
            **counts,
        )


def _usage_counts(usage: Any) -> dict[str, int]:
    """Token counts with input EXCLUDING cached tokens, as Anthropic reports it."""
    if usage is None:
        return {
            "input_tokens": 0,
            "output_tokens": 0,
            "cache_read_tokens": 0,
            "cache_write_tokens": 0,
        }
    details = getattr(usage, "prompt_tokens_details", None)
    cache_read = int(getattr(details, "cached_tokens", 0) or 0)
    cache_write = int(getattr(usage, "cache_creation_input_tokens", 0) or 0)
    prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
    return {
        "input_tokens": max(0, prompt - cache_read - cache_write),
        "output_tokens": int(getattr(usage, "completion_tokens", 0) or 0),
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
    }


def _litellm_cost(response: Any) -> tuple[float, str]:
    try:
        cost = litellm.completion_cost(completion_response=response)
    except Exception:  # litellm raises for models missing from its map
        return 0.0, "unknown"
    if cost is None:
        return 0.0, "unknown"
    return float(cost), "litellm"


def map_litellm_error(exc: Exception) -> ProviderError:
    """Normalise a litellm exception; provider keys are scrubbed from the text."""
    secrets = _env_secrets()
    status = getattr(exc, "status_code", None)
    status = int(status) if isinstance(status, int) else None
    message = scrub(str(getattr(exc, "message", "") or exc), *secrets)[:1000]
    # litellm's messages already name the error class ("llm_errors.RateLimitError: ...").
    text = f"litellm {status}: {message}" if status else f"litellm: {message}"
    if isinstance(exc, _PERMANENT):
        return PermanentError(text, status=status)
    if isinstance(exc, _RETRYABLE):
        return RetryableError(
            text, status=status, retry_after=_retry_after(exc), connection=_unreachable(exc)
        )
    if isinstance(exc, llm_errors.APIError) or (status is not None and status >= 400):
        if status is None or status >= 500 or status in _RETRY_STATUSES:
            return RetryableError(text, status=status, retry_after=_retry_after(exc))
        return PermanentError(text, status=status)
    if isinstance(exc, ValueError):
        return RetryableError(f"litellm returned a malformed response: {message[:300]}")
    return PermanentError(text, status=status)


def _unreachable(exc: BaseException) -> bool:
    """A refused or failed connection, however litellm wrapped it (it reports the
    OpenAI client's connection error as a 500 InternalServerError)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            break
        if isinstance(seen, httpx.ConnectError | openai.APIConnectionError) and not isinstance(
            seen, openai.APITimeoutError
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return isinstance(exc, llm_errors.APIConnectionError) or "Connection error" in str(exc)


def _retry_after(exc: Exception) -> float | None:
    for source in (getattr(exc, "headers", None), getattr(exc, "litellm_response_headers", None)):
        if source:
            found = parse_retry_after({str(k).lower(): str(v) for k, v in dict(source).items()})
            if found is not None:
                return found
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    return parse_retry_after({str(k).lower(): str(v) for k, v in headers.items()})
