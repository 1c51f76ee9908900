"""The `probes:` section of a corpus spec: what `sdf-corpus probes` generates."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["KINDS", "ProbesSpec"]

# kind -> the probe library file (probes/NAME.yaml) that writes it
KINDS = {"mcq": "mcq", "attachment": "attachment_pair", "scenario": "agentic_scenario"}


class ProbesSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int = Field(
        97,
        description="the probe set's own seed, independent of the corpus seed, so a new "
        "corpus is measured against the same probes",
    )
    per_principle: dict[str, int] = Field(
        default_factory=lambda: {"mcq": 10, "attachment": 10, "scenario": 10},
        description="probes per principle for each kind (mcq, attachment, scenario); 0 skips",
    )
    principles: list[str] = Field(
        default_factory=list, description="principle ids to probe; empty: every principle"
    )
    check_corpus: list[str] = Field(
        default_factory=list,
        description="run folders or JSONL/Parquet corpora; probes sharing a 12-word run with "
        "them are set aside (as the clean stage does the other way round)",
    )

    @field_validator("per_principle")
    @classmethod
    def _known_kinds(cls, value: dict[str, int]) -> dict[str, int]:
        for kind, n in value.items():
            if kind not in KINDS:
                raise ValueError(f"unknown probe kind {kind!r}; use one of {sorted(KINDS)}")
            if not 0 <= n <= 1000:
                raise ValueError(f"per_principle.{kind} is {n}; use 0..1000")
        if not any(value.values()):
            raise ValueError("every kind is 0: nothing to generate")
        return value
