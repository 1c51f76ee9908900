"""The `judge:` section of a corpus spec."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["JudgeSpec"]


class JudgeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="score kept documents with an LLM judge")
    provider: str | None = Field(
        None, description="anthropic | litellm; default: the corpus backend's provider"
    )
    model: str | None = Field(None, description="judge model; default: the corpus backend's")
    api_base: str | None = None
    concurrency: int | None = Field(None, ge=1, le=4096, description="default: the backend's")
    rubric: str = Field("default", description="a rubric name from rubrics/ or a YAML path")
    min_scores: dict[str, int] = Field(
        default_factory=dict,
        description="criterion -> minimum score; documents below are dropped as judge_<criterion>",
    )
    max_tokens: int = Field(700, ge=64, le=8000)
    min_judged_share: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="the judge step fails (exit 7) when fewer than this share of the documents "
        "could be judged; 0 turns the check off",
    )
    parse_attempts: int = Field(
        3, ge=1, le=10, description="answers that do not parse are asked again this many times"
    )
