"""One backend and one executor per provider and model of the run (`sdf_corpus.targets`).

A spec that names a model per stage (`backend.stages.<STAGE>.model`) sends each
stage to its own target. Each target gets its own executor, so its rate limits
(`backend.requests_per_minute` / `tokens_per_minute` apply to each target), its
pacing to the provider's headers and its circuit breaker are its own: a 429 from
one API does not slow the other, and a bad key for one stops the run naming that
one. Every executor shares the run's one spend guard, each pricing its requests
at its own model's rate.
"""

from __future__ import annotations

from collections.abc import Iterator

from sdf_corpus.generate.backends.base import Backend
from sdf_corpus.generate.executor import Executor
from sdf_corpus.generate.spend import CostGuard
from sdf_corpus.plan.job import Job
from sdf_corpus.pricing.prices import ModelPrice, resolve_price, spec_table
from sdf_corpus.spec.load import Corpus
from sdf_corpus.store import Store
from sdf_corpus.targets import Target, default_target, run_targets, stage_target

__all__ = ["RunBackends", "StageExecutors", "make_run_backends", "target_price"]


class RunBackends:
    """The run's backends by target; closed together."""

    def __init__(self, corpus: Corpus, backends: dict[Target, Backend]) -> None:
        self.corpus, self.backends = corpus, backends

    def __iter__(self) -> Iterator[tuple[Target, Backend]]:
        return iter(self.backends.items())

    @property
    def default(self) -> Backend:
        return self.backends[default_target(self.corpus.spec)]

    async def aclose(self) -> None:
        for backend in self.backends.values():
            await backend.aclose()


def make_run_backends(corpus: Corpus) -> RunBackends:
    """A backend per target; a missing key for any of them raises before any request."""
    from sdf_corpus.generate.backends import make_backend

    spec = corpus.spec
    prices = spec_table(spec.prices) or None
    made = {
        target: make_backend(
            target.provider,
            target.model,
            api_base=target.api_base,
            timeout=spec.backend.timeout,
            prices=prices,
            local_options={"n_ctx": spec.backend.n_ctx, "seed": spec.seed},
        )
        for target in run_targets(spec, corpus.genres)
    }
    return RunBackends(corpus, made)


def target_price(corpus: Corpus, target: Target) -> ModelPrice | None:
    return resolve_price(corpus.spec.prices, target.provider, target.model)[0]


class StageExecutors:
    """The executor each (genre, stage) is sent through."""

    def __init__(
        self, corpus: Corpus, backends: RunBackends, ledger: Store, guard: CostGuard
    ) -> None:
        self.corpus = corpus
        self.executors = {
            target: Executor(
                backend, corpus.spec.backend, ledger, guard, price=target_price(corpus, target)
            )
            for target, backend in backends
        }
        self._default = self.executors[default_target(corpus.spec)]

    def __call__(self, job: Job, stage: str) -> Executor:
        target = stage_target(self.corpus.spec, job.genre, stage)
        return self.executors.get(target, self._default)

    @property
    def requests(self) -> int:
        return sum(e.requests for e in self.executors.values())
