"""Small helpers shared by the provider backends."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping

__all__ = [
    "anchor_prefill",
    "join_prompt",
    "parse_retry_after",
    "prefill_instruction",
    "rate_headers",
    "scrub",
]

_RATE_MARKERS = ("ratelimit",)

_REDACTED = "[REDACTED]"


def scrub(text: str, *secrets: str | None) -> str:
    """`text` with every secret replaced, so keys never reach logs or errors."""
    for secret in secrets:
        # Very short "secrets" (e.g. "x") would shred ordinary words.
        if secret and len(secret) >= 4:
            text = text.replace(secret, _REDACTED)
    return text


def join_prompt(prefix: str, prompt: str) -> str:
    """The cache prefix and the prompt as one text, for backends without caching."""
    if not prefix:
        return prompt
    if not prompt or prefix[-1:].isspace():
        return prefix + prompt
    return f"{prefix}\n\n{prompt}"


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from `retry-after-ms` / `retry-after` (seconds or HTTP date)."""
    if not headers:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def prefill_instruction(prompt: str, prefill: str) -> str:
    """For chat APIs without assistant prefill: ask for the opening in words."""
    return f"{prompt}\n\nBegin your reply with exactly this text and continue it:\n{prefill}"


def anchor_prefill(prefill: str, generated: str, *, echoed: bool = False) -> str:
    """Stored text = the prefill followed by the continuation, exactly once.

    `echoed`: the opening was asked for in the prompt, so the reply repeats it.
    """
    if not prefill:
        return generated
    sent = prefill.rstrip()
    if echoed and generated.startswith(sent):
        generated = generated[len(sent) :]
    if generated[:1].isspace():
        return sent + generated
    return prefill + generated


def rate_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """Only the rate-limit headers of a response, lower-cased (nothing else is kept)."""
    if not headers:
        return {}
    return {
        str(k).lower(): str(v)
        for k, v in headers.items()
        if any(m in str(k).lower() for m in _RATE_MARKERS)
    }
