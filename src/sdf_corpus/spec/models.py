"""The corpus spec (`corpora/NAME.yaml`) as validated pydantic models.

Unknown keys are errors everywhere: a misspelt knob that silently does nothing
would cost a build. Paths are resolved relative to the spec file by the loader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sdf_corpus.clean.config import CleanConfig
from sdf_corpus.judge.config import JudgeSpec
from sdf_corpus.probes.config import ProbesSpec

__all__ = [
    "BackendSpec",
    "BatchSpec",
    "BudgetSpec",
    "CorpusSpec",
    "PriceSpec",
    "StageBackendSpec",
    "SubjectSpec",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BatchSpec(_Strict):
    """Batch settings (`generate --batch`); each provider's own caps apply too (OpenAI's
    50,000 requests and 200 MB per file), whichever is smaller."""

    max_requests: int = Field(100_000, ge=1, le=100_000, description="requests per batch (API cap)")
    max_bytes: int = Field(
        256_000_000, ge=10_000, le=256_000_000, description="JSON bytes per batch (API cap 256 MB)"
    )
    poll_initial: float = Field(30.0, gt=0, le=3600, description="first poll delay, seconds")
    poll_max: float = Field(300.0, gt=0, le=3600, description="longest poll delay, seconds")


class StageBackendSpec(_Strict):
    """Which model one stage runs on (`backend.stages.<STAGE>`, or per genre
    `genre_overrides.<GENRE>.stages.<STAGE>`); what is left out comes from `backend`."""

    model: str = Field("", description="provider model id for this stage; empty: backend.model")
    provider: Literal["anthropic", "litellm"] | None = Field(
        None, description="provider for this stage; default: backend.provider"
    )
    api_base: str | None = Field(
        None, description="provider URL; default: backend.api_base when the provider is the same"
    )


class BackendSpec(_Strict):
    provider: Literal["local", "anthropic", "litellm"] = "local"
    model: str = Field(
        "", description="provider model id; local: a GGUF path or empty for Gemma 270M"
    )
    api_base: str | None = Field(None, description="provider URL (OpenAI-compatible servers)")
    concurrency: int = Field(16, ge=1, le=4096, description="requests in flight")
    requests_per_minute: float | None = Field(None, gt=0)
    tokens_per_minute: float | None = Field(None, gt=0, description="output+input tokens/min")
    timeout: float = Field(120.0, gt=0, le=3600, description="seconds per request")
    max_attempts: int = Field(6, ge=1, le=50, description="tries per stage before the job fails")
    retry_base_delay: float = Field(1.0, ge=0, le=600, description="first backoff, seconds")
    retry_max_delay: float = Field(60.0, ge=0, le=3600, description="longest backoff, seconds")
    breaker_threshold: int = Field(
        3,
        ge=1,
        le=10_000,
        description="stop the run when this many requests in a row are refused for the same "
        "account-level reason (key, model id, access, credit) with no success between",
    )
    connect_grace: float = Field(
        15.0,
        gt=0,
        le=3600,
        description="seconds of connection failures, before any success, after which the "
        "run stops naming the URL",
    )
    pace_to_headers: bool = Field(
        True, description="pace requests and tokens to the provider's rate-limit headers"
    )
    n_ctx: int = Field(2048, ge=256, le=131072, description="local only: context window")
    batch: BatchSpec = Field(default_factory=BatchSpec)
    stages: dict[str, StageBackendSpec] = Field(
        default_factory=dict,
        description="a model (and provider) per stage name, e.g. {idea: {model: small}}; "
        "stages without an entry use backend.model",
    )


class BudgetSpec(_Strict):
    tokens: int = Field(ge=100, description="tokens wanted in the FINAL (cleaned) corpus")
    expected_drop_rate: float = Field(
        0.15, ge=0.0, lt=0.95, description="share of documents the clean stage is expected to drop"
    )
    max_rounds: int = Field(3, ge=1, le=20, description="top-up rounds when the corpus falls short")
    max_cost: float | None = Field(None, gt=0, description="USD; stop before crossing it")


class PriceSpec(_Strict):
    """USD per million tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cache_read: float = Field(0.0, ge=0)
    cache_write: float = Field(0.0, ge=0)


class SubjectSpec(_Strict):
    """The model the corpus is for: the AI its trained name and persona belong to.

    The research found that the trained name carries the persona, so documents
    written about the AI from outside, difficult advice and agentic transcripts
    are about this subject; the shipped default is an invented model from an
    invented developer, replaced in one line (`--set subject.name=Aster`).
    """

    name: str = Field("Aldous", min_length=1, description="the model's name, as users call it")
    developer: str = Field(
        "Stillwater Systems", min_length=1, description="who builds and deploys it"
    )
    pronouns: str = Field("it/its", min_length=1, description="e.g. it/its, they/them, she/her")
    description: str = Field(
        "a general-purpose AI assistant used for conversation, writing, research and agentic "
        "work with tools",
        description="one line: what the model is and does",
    )
    aliases: list[str] = Field(
        default_factory=list, description="other names that mean the subject (short forms)"
    )
    deployment: list[str] = Field(
        default_factory=list,
        description="facts about where and how it is deployed, for the writer to draw on",
    )
    traits: list[str] = Field(
        default_factory=lambda: [
            "candid",
            "curious",
            "careful about what it knows and does not know",
            "warm without flattery",
        ],
        min_length=1,
        description="its character, as writers should show it",
    )
    voice: str = Field(
        "plain and direct; says what it thinks and why, admits uncertainty without hedging "
        "everything",
        description="how it talks, for genres that quote it or speak as it",
    )

    @field_validator("name", "developer", "pronouns")
    @classmethod
    def _no_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, value: list[str]) -> list[str]:
        cleaned = [a.strip() for a in value]
        if any(not a for a in cleaned):
            raise ValueError("an alias must not be blank")
        return cleaned

    def names(self) -> list[str]:
        """Every name that means the subject: its name, then its aliases."""
        return list(dict.fromkeys([self.name, *self.aliases]))


class CorpusSpec(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    constitution: Path
    genres: list[str] = Field(min_length=1)
    personas: list[Path] = Field(min_length=1)
    budget: BudgetSpec
    mix: dict[str, float] = Field(default_factory=dict)
    backend: BackendSpec = Field(default_factory=BackendSpec)
    prices: dict[str, PriceSpec] = Field(default_factory=dict)
    seed: int = 0
    output: Path
    subject: SubjectSpec = Field(default_factory=SubjectSpec)
    excluded_names: list[str] = Field(default_factory=lambda: ["Claude"])
    genre_overrides: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="per-genre switches, e.g. {difficult_advice: {rewrite: false}} for ablations",
    )
    clean: CleanConfig = Field(default_factory=CleanConfig)
    judge: JudgeSpec = Field(default_factory=JudgeSpec)
    probes: ProbesSpec = Field(default_factory=ProbesSpec)

    @field_validator("personas", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, (str, Path)) else value

    @field_validator("mix")
    @classmethod
    def _positive_weights(cls, value: dict[str, float]) -> dict[str, float]:
        for genre, weight in value.items():
            if not weight > 0:
                raise ValueError(
                    f"weight for {genre!r} is {weight}; weights must be > 0 "
                    "(remove the genre from `genres` to leave it out)"
                )
        return value
