"""Provider backends behind one interface (see `base`).

`make_backend` imports each implementation lazily, so `import sdf_corpus`
never loads the anthropic SDK, litellm or llama.cpp.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sdf_corpus.errors import SpecError
from sdf_corpus.generate.backends.base import Backend

if TYPE_CHECKING:
    from sdf_corpus.pricing.prices import ModelPrice

__all__ = ["PROVIDERS", "Backend", "make_backend"]

PROVIDERS = ("anthropic", "litellm", "local")

# Before any backend module imports litellm (this package's __init__ runs first):
# otherwise litellm fetches its cost map from the network at import time.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def make_backend(
    provider: str,
    model: str,
    *,
    api_base: str | None = None,
    timeout: float = 60.0,
    prices: Mapping[str, ModelPrice] | None = None,
    local_options: Mapping[str, Any] | None = None,
) -> Backend:
    """The backend for `provider`; raises KeyMissingError before any request.

    For "local", `model` is a GGUF path ("" or "default" for the bundled Gemma
    3 270M) and `local_options` may set n_ctx, n_threads and seed.
    """
    if provider == "anthropic":
        from sdf_corpus.generate.backends.anthropic import AnthropicBackend

        return AnthropicBackend(model, api_base=api_base, timeout=timeout, prices=prices)
    if provider == "litellm":
        from sdf_corpus.generate.backends.litellm import LitellmBackend

        return LitellmBackend(model, api_base=api_base, timeout=timeout, prices=prices)
    if provider == "local":
        from sdf_corpus.generate.backends.local import LocalBackend

        path = None if model in ("", "default") else model
        return LocalBackend(path, **dict(local_options or {}))
    raise SpecError(
        "backend.provider", f"unknown provider {provider!r}", f"use one of {', '.join(PROVIDERS)}"
    )
