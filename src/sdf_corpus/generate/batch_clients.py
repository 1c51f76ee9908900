"""The batch APIs `generate --batch` can send through, one client per target.

Two implementations of one small interface (`BatchAPI`): Anthropic's Message Batches
(`backends/anthropic_batches.py`) and OpenAI-format Files + Batches through litellm
(`backends/openai_batches.py`). Per-stage models (`backend.stages`) may put stages on
both in one build: each target (provider and model) gets its own client, its own
chunks and its own circuit breaker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

from sdf_corpus.errors import SpecError
from sdf_corpus.generate.backends.anthropic_batches import BatchEntry, BatchResult, BatchStatus
from sdf_corpus.pricing.prices import ModelPrice
from sdf_corpus.sampling import Completion, Request
from sdf_corpus.spec.load import Corpus
from sdf_corpus.targets import Target, batch_supported, run_targets

__all__ = ["BatchAPI", "check_batch_targets", "make_batch_clients"]


class BatchAPI(Protocol):
    name: str
    limits: tuple[int, int]  # requests, bytes per batch (the provider's caps)

    @property
    def endpoint(self) -> str: ...

    def params(self, model: str, request: Request) -> dict[str, Any]: ...

    def line(self, entry: BatchEntry) -> bytes: ...

    def completion(
        self, model: str, price: ModelPrice | None, prefill: str, message: Any
    ) -> Completion: ...

    async def create(self, entries: Sequence[BatchEntry], token: str = "") -> BatchStatus: ...

    async def retrieve(self, batch_id: str) -> BatchStatus: ...

    def results(self, batch_id: str) -> AsyncIterator[BatchResult]: ...

    async def recent(self, since: float) -> list[BatchStatus]: ...

    async def discard(self, batch_id: str) -> None: ...

    async def aclose(self) -> None: ...


def check_batch_targets(corpus: Corpus) -> None:
    """Every target of the run can be batched: anthropic, or litellm on a provider
    whose OpenAI-format batch API litellm speaks."""
    for target in run_targets(corpus.spec, corpus.genres):
        if batch_supported(target.provider, target.model):
            continue
        raise SpecError(
            "backend.provider",
            f"--batch cannot send {target.provider} {target.label()!r}: batches go through "
            "anthropic, or litellm with an openai/, azure/, hosted_vllm/, vertex_ai/ or "
            "bedrock/ model",
            "drop --batch or switch provider",
        )


def make_batch_clients(corpus: Corpus) -> dict[Target, BatchAPI]:
    """A client per target; a missing key raises before anything is submitted."""
    timeout = max(corpus.spec.backend.timeout, 60.0)
    clients: dict[Target, BatchAPI] = {}
    for target in run_targets(corpus.spec, corpus.genres):
        if target.provider == "anthropic":
            from sdf_corpus.generate.backends.anthropic_batches import BatchClient

            clients[target] = BatchClient(api_base=target.api_base, timeout=timeout)
        else:
            from sdf_corpus.generate.backends.openai_batches import LitellmBatchClient

            clients[target] = LitellmBatchClient(target.model, target.api_base, timeout)
    return clients
