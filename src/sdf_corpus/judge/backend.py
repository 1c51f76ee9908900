"""Which backend the judge sends to: the corpus backend with the `judge:` overrides.

Its own module, below both the spec loader (which checks it before anything is spent)
and the judge run, so neither imports the other."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sdf_corpus.errors import SpecError
from sdf_corpus.spec.models import BackendSpec

if TYPE_CHECKING:
    from sdf_corpus.spec.load import Corpus

__all__ = ["judge_backend_spec"]


def judge_backend_spec(corpus: Corpus) -> BackendSpec:
    spec, judge = corpus.spec.backend, corpus.spec.judge
    update: dict[str, Any] = {"provider": judge.provider or spec.provider}
    if judge.model:
        update["model"] = judge.model
    if judge.api_base:
        update["api_base"] = judge.api_base
    if judge.concurrency:
        update["concurrency"] = judge.concurrency
    resolved = spec.model_copy(update=update)
    if resolved.provider == "local":
        raise SpecError(
            str(corpus.path),
            "field judge: a local base model cannot judge",
            "set judge.provider to anthropic or litellm (and judge.model)",
        )
    return resolved
