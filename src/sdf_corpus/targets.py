"""Which provider and model each stage of each genre runs on.

`backend.model` serves every stage unless the spec names another for a stage:
`backend.stages.<STAGE>` for every genre that has that stage, and
`genre_overrides.<GENRE>.stages.<STAGE>` for one genre (it wins). A stage entry
may name a provider too; its URL (`api_base`) is inherited from `backend` only
when the provider is the same, since one provider's URL means nothing to another.

Generation (one executor per target: rate limits, pacing and the circuit breaker
per provider and model), the batch path (one batch client per provider), the
estimate and the shards' `stage_models` column all ask here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sdf_corpus.errors import SpecError
from sdf_corpus.spec.genres import Genre
from sdf_corpus.spec.models import CorpusSpec, StageBackendSpec

__all__ = [
    "LITELLM_BATCH_PROVIDERS",
    "Target",
    "batch_supported",
    "check_stage_entries",
    "default_target",
    "run_targets",
    "stage_target",
]


# litellm providers whose OpenAI-format batch API `--batch` uses (generate/batch_clients.py).
LITELLM_BATCH_PROVIDERS = ("openai", "azure", "hosted_vllm", "vertex_ai", "bedrock")


def batch_supported(provider: str, model: str = "") -> bool:
    """Whether `--batch` can send this target's requests (at the batch discount)."""
    if provider == "anthropic":
        return True
    head, sep, _ = model.partition("/")
    return provider == "litellm" and (head if sep else "openai") in LITELLM_BATCH_PROVIDERS


@dataclass(frozen=True, slots=True)
class Target:
    """One provider and model (and URL): the unit of limits, pacing and the breaker."""

    provider: str
    model: str
    api_base: str | None = None

    def label(self) -> str:
        """What reports and shards call it: the model id (the provider for the local default)."""
        return self.model or f"{self.provider} default"


def default_target(spec: CorpusSpec) -> Target:
    b = spec.backend
    return Target(b.provider, b.model, b.api_base)


def _entry(spec: CorpusSpec, genre: str, stage: str) -> dict[str, Any]:
    """The stage's entry: the genre's own fields over the global ones (validated at load)."""
    merged: dict[str, Any] = {}
    common = spec.backend.stages.get(stage)
    if common is not None:
        merged.update(common.model_dump(exclude_none=True, exclude_defaults=True))
    override = spec.genre_overrides.get(genre) or {}
    own = (override.get("stages") or {}).get(stage)
    if isinstance(own, Mapping):
        merged.update({k: v for k, v in own.items() if v not in (None, "")})
    return merged


def stage_target(spec: CorpusSpec, genre: str, stage: str) -> Target:
    """The provider, model and URL a genre's stage is sent to."""
    base = default_target(spec)
    entry = _entry(spec, genre, stage)
    if not entry:
        return base
    provider = str(entry.get("provider") or base.provider)
    inherited = base.api_base if provider == base.provider else None
    model = str(entry.get("model") or (base.model if provider == base.provider else ""))
    return Target(provider, model, entry.get("api_base") or inherited)


def run_targets(spec: CorpusSpec, genres: Mapping[str, Genre]) -> list[Target]:
    """Every distinct target of the run, the default first."""
    found = [default_target(spec)]
    for name, genre in genres.items():
        for stage in genre.stages:
            target = stage_target(spec, name, stage.name)
            if target not in found:
                found.append(target)
    return found


def check_stage_entries(spec: CorpusSpec, genres: Mapping[str, Genre], path: Path) -> None:
    """Stage names that no genre has, a genre override naming a stage the genre lacks,
    a stage entry with a provider but no model, and stage models on the local backend:
    one line each, before anything is spent."""
    every = sorted({s.name for g in genres.values() for s in g.stages})
    for name in spec.backend.stages:
        if name not in every:
            raise SpecError(
                str(path),
                f"field backend.stages: no genre has a stage {name!r}",
                f"use one of: {', '.join(every)}",
            )
    for genre, override in spec.genre_overrides.items():
        entries = (override or {}).get("stages")
        if entries is None or genre not in genres:
            continue
        _check_genre_entries(genre, entries, genres[genre], path)
    if spec.backend.provider == "local" and _any_entry(spec):
        raise SpecError(
            str(path),
            "field backend.stages: the local backend runs one continuation stage on one model",
            "drop the stage entries, or set backend.provider to anthropic or litellm",
        )
    for genre_name, genre_spec in genres.items():
        for stage in genre_spec.stages:
            target = stage_target(spec, genre_name, stage.name)
            if not target.model and _entry(spec, genre_name, stage.name):
                raise SpecError(
                    str(path),
                    f"field backend.stages.{stage.name}: provider {target.provider} needs a model",
                    f"add backend.stages.{stage.name}.model",
                )


def _any_entry(spec: CorpusSpec) -> bool:
    return bool(spec.backend.stages) or any(
        (o or {}).get("stages") for o in spec.genre_overrides.values()
    )


def _check_genre_entries(genre: str, entries: Any, spec_genre: Genre, path: Path) -> None:
    where = f"field genre_overrides.{genre}.stages"
    names = [s.name for s in spec_genre.stages]
    if not isinstance(entries, Mapping):
        raise SpecError(str(path), f"{where}: must map stage names to {{model, provider}}")
    for stage, entry in entries.items():
        if stage not in names:
            raise SpecError(
                str(path),
                f"{where}: genre {genre} has no stage {stage!r}",
                f"use one of: {', '.join(names)}",
            )
        try:
            StageBackendSpec.model_validate(entry)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            problem = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            raise SpecError(str(path), f"{where}.{stage}.{loc}: {problem}") from None
