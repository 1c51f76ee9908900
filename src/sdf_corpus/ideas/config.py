"""Settings of the idea pool (the spec's `ideas:` section; docs/genres.md, "The idea pool").

Light on purpose: the spec imports it, so it holds nothing but the pydantic model.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["IdeasSpec"]


class IdeasSpec(BaseModel):
    """How a cell's ideas are asked for and kept apart."""

    model_config = ConfigDict(extra="forbid")

    pool: bool = Field(
        True,
        description="fill each cell's ideas from shared list requests; false: every job asks "
        "for its own idea list (today's idea stage, for ablations)",
    )
    per_request: int = Field(
        16, ge=4, le=40, description="briefs (jobs) one pool request serves, one idea each"
    )
    threshold: float = Field(
        0.6,
        gt=0.0,
        le=1.0,
        description="an idea whose cosine to one its cell holds is at or above this is "
        "dropped as too close (wordllama; calibrated on short ideas, docs/genres.md)",
    )
    show_taken: int = Field(
        20, ge=0, le=100, description="summaries of the cell's ideas a request shows to steer away"
    )
    max_asks: int = Field(
        3,
        ge=1,
        le=10,
        description="times a brief is asked before its job is set aside (pool_exhausted: its "
        "cell is saturated)",
    )
    batch_width: int = Field(
        8,
        ge=1,
        le=1000,
        description="under --batch, a cell's requests going out together in one round (each "
        "shows the taken ideas of the round's start; answers judged in request order)",
    )
