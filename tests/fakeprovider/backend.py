"""The `backend:` section of a test spec pointed at the fake provider."""

from __future__ import annotations

from typing import Any

__all__ = ["anthropic_backend"]


def anthropic_backend(url: str, **overrides: Any) -> dict[str, Any]:
    """The real anthropic SDK against `url`, with short timeouts and backoff so
    that tests injecting faults finish in seconds; `overrides` replace any key."""
    return {
        "provider": "anthropic",
        "model": "claude-haiku-4-5",
        "api_base": url,
        "concurrency": 4,
        "timeout": 5.0,
        "retry_base_delay": 0.02,
        "retry_max_delay": 0.2,
        **overrides,
    }
