"""The one interface every provider sits behind.

A backend turns a `Request` into a `Completion`. It does not retry and does not
rate-limit: the runner does both, uniformly, deciding from the class of the
`ProviderError` a backend raises (`RetryableError`: 429, 529, 5xx, timeouts,
connection errors; `PermanentError`: a 4xx that retrying cannot fix). Those
classes live in the one error tree, `sdf_corpus.errors`, with their exit codes.
Adding a provider is one module that implements `Backend`.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from sdf_corpus.sampling import Completion, Request

__all__ = ["Backend"]


@runtime_checkable
class Backend(Protocol):
    name: str  # "anthropic" | "litellm" | "local" | ...
    model: str

    async def complete(self, request: Request) -> Completion: ...

    async def aclose(self) -> None: ...
