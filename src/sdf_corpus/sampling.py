"""The records of one sampling call, shared by every stage that renders, sends, stores
or prices requests: `Request` (what is asked) and `Completion` (what came back, with
usage and cost). Backends turn one into the other (`generate/backends/`); the store
records completions; the estimate renders requests without sending them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Completion", "Request", "describe_error"]


@dataclass(frozen=True, slots=True)
class Request:
    """One sampling call.

    `system` is stored-text-neutral: the runner folds any stage `system_injection`
    into it at sampling time, and nothing in a Request is ever written to training
    text. `cache_prefix` is the long shared head of the prompt (constitution
    excerpt and genre instructions); backends that support prompt caching send it
    as its own block marked for caching, others simply prepend it to `prompt`.
    `prefill` is text the answer must continue (document-style prompts for base
    models; also honoured by chat backends as a leading assistant turn where the
    provider allows it).
    """

    prompt: str
    system: str = ""
    cache_prefix: str = ""
    max_tokens: int = 1024
    temperature: float = 1.0
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    prefill: str = ""
    custom_id: str = ""  # job id + stage, for logs and batch mapping
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    stop_reason: str  # "end" | "max_tokens" | "stop_sequence" | provider's own word
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    model: str = ""
    # Where cost_usd came from: "table" (our price table), "litellm" (its cost
    # map), "free" (a local model) or "unknown" (no price: cost_usd is 0.0).
    cost_source: str = ""
    # The provider's rate-limit response headers (anthropic-ratelimit-*,
    # x-ratelimit-*), lower-cased; the executor paces to them. Never stored.
    rate_headers: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def truncated(self) -> bool:
        return self.stop_reason == "max_tokens"


_ERROR_LABELS = {
    "RetryableError": "retryable provider error (429/5xx/timeout)",
    "PermanentError": "request refused by the provider",
    "_BatchRetry": "batch request errored, expired or canceled",
    "AmbiguousCreateError": "batch create got no answer",
    "JudgeParseError": "judge answer did not parse",
}


def describe_error(error_class: str | None) -> str:
    """What a failed attempt was, in words: the ledger stores the exception's class name."""
    name = error_class or ""
    if name in _ERROR_LABELS:
        return _ERROR_LABELS[name]
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name.lstrip("_")).lower()
    return words or "unknown error"
