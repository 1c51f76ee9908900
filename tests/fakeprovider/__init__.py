"""A loopback fake LLM provider for tests and benchmarks (see `server`)."""

from __future__ import annotations

from typing import Any

__all__ = ["FAULT_KINDS", "FakeProvider", "Responder"]


def __getattr__(name: str) -> Any:
    # Lazy, so `python -m fakeprovider.server` does not import the module twice.
    if name in __all__:
        from fakeprovider import server

        return getattr(server, name)
    raise AttributeError(f"module 'fakeprovider' has no attribute {name!r}")
