"""Cost from usage times an explicit price table.

Costs are never taken from a client library's own tables: litellm's Anthropic
cache pricing has been wrong before, and a cost figure that lies is worse than
none. Every figure here is USD per million tokens.

Anthropic reports `input_tokens` EXCLUDING cache reads and cache writes, so a
call costs input*in + cache_read*cr + cache_write*cw + output*out.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ANTHROPIC_PRICES",
    "BATCH_DISCOUNT",
    "DEFAULT_PRICES",
    "MIN_CACHE_CHARS",
    "OPENAI_PRICES",
    "ModelPrice",
    "base_model_id",
    "cost_usd",
    "lookup_price",
    "resolve_price",
    "spec_table",
]

# The Message Batches API bills every token class at half price.
BATCH_DISCOUNT = 0.5
# Anthropic caches a prefix only from ~1024 tokens (more on some models); a
# shorter block marked for caching just costs a cache write for nothing.
MIN_CACHE_CHARS = 4000


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per million tokens. `cache_write` is the 5-minute-TTL write rate."""

    input: float
    output: float
    cache_read: float
    cache_write: float


def _standard(input_: float, output: float) -> ModelPrice:
    # Anthropic's default multipliers: 5-minute cache write 1.25x input, hit 0.1x.
    return ModelPrice(input_, output, round(input_ * 0.1, 6), round(input_ * 1.25, 6))


# Source: Anthropic list prices, platform.claude.com/docs/en/about-claude/pricing
# and the per-model overview pages ("5m cache write", "Cache read"), checked
# 2026-11-23. Newer models do not all use the 0.1x cache-hit multiplier, so
# those rows spell out every rate. Haiku 5.5 is priced by prompt length; the
# row is its <=100k-token band (longer prompts cost 5x): an underestimate there.
ANTHROPIC_PRICES: dict[str, ModelPrice] = {
    "claude-fable-5-1": ModelPrice(10.0, 50.0, 0.25, 12.5),
    "claude-fable-5": ModelPrice(10.0, 50.0, 1.0, 12.5),
    "claude-opus-5-5": ModelPrice(4.0, 20.0, 0.20, 5.0),
    "claude-opus-5": _standard(5.0, 25.0),
    "claude-opus-4-8": _standard(5.0, 25.0),
    "claude-opus-4-7": _standard(5.0, 25.0),
    "claude-opus-4-6": _standard(5.0, 25.0),
    "claude-opus-4-5": _standard(5.0, 25.0),
    "claude-opus-4-1": _standard(15.0, 75.0),
    "claude-opus-4-0": _standard(15.0, 75.0),
    "claude-opus-4": _standard(15.0, 75.0),
    "claude-sonnet-5-5": ModelPrice(2.0, 10.0, 0.10, 2.5),
    "claude-sonnet-5": _standard(2.0, 10.0),
    "claude-sonnet-4-6": _standard(3.0, 15.0),
    "claude-sonnet-4-5": _standard(3.0, 15.0),
    "claude-sonnet-4-0": _standard(3.0, 15.0),
    "claude-sonnet-4": _standard(3.0, 15.0),
    "claude-haiku-5-5": ModelPrice(0.10, 0.50, 0.01, 0.125),
    "claude-haiku-4-5": _standard(1.0, 5.0),
    "claude-3-5-haiku": ModelPrice(0.80, 4.0, 0.08, 1.0),
}

# Source: OpenAI's API pricing page (developers.openai.com/api/docs/pricing), standard
# tier, short context, as quoted on 2026-06-04 by tokenmix.ai ("OpenAI API Cost 2026")
# and in June 2026 by morphllm.com ("OpenAI API pricing"); gpt-5-mini as listed by
# openrouter.ai. Not read from OpenAI's page itself (no browsing here): check it before
# budgeting. OpenAI bills no cache write premium (cache_write = input); cached input
# is 10% of input; the Batch API halves every token class (BATCH_DISCOUNT).
OPENAI_PRICES: dict[str, ModelPrice] = {
    "gpt-5.5": ModelPrice(5.0, 30.0, 0.50, 5.0),
    "gpt-5.4": ModelPrice(2.50, 15.0, 0.25, 2.50),
    "gpt-5.4-mini": ModelPrice(0.75, 4.50, 0.075, 0.75),
    "gpt-5.4-nano": ModelPrice(0.20, 1.25, 0.02, 0.20),
    "gpt-5-mini": ModelPrice(0.25, 2.0, 0.025, 0.25),
}
# Our own table, before any client library's: what backends cost calls from by default.
DEFAULT_PRICES: dict[str, ModelPrice] = {**ANTHROPIC_PRICES, **OPENAI_PRICES}

# Dated snapshots ("claude-sonnet-4-5-20250929") and "-latest" aliases price as
# their family; "[1m]" context variants and provider prefixes are dropped too.
_SUFFIX = re.compile(r"(-\d{8}|-latest|\[1m\])$")


def base_model_id(model: str) -> str:
    """ "claude-sonnet-4-5" for "anthropic/claude-sonnet-4-5-20250929" and the like."""
    name = model.strip().lower().rsplit("/", 1)[-1]
    while True:
        stripped = _SUFFIX.sub("", name)
        if stripped == name:
            return name
        name = stripped


def lookup_price(model: str, table: Mapping[str, ModelPrice] | None = None) -> ModelPrice | None:
    """The price row for `model`, tolerating date suffixes; None when unknown."""
    prices = DEFAULT_PRICES if table is None else table
    if model in prices:
        return prices[model]
    name = base_model_id(model)
    if name in prices:
        return prices[name]
    for key, price in prices.items():
        if base_model_id(key) == name:
            return price
    return None


def cost_usd(
    price: ModelPrice,
    input_tokens: int,
    output_tokens: int,
    cache_read: int = 0,
    cache_write: int = 0,
    batch: bool = False,
) -> float:
    """USD for one call; `input_tokens` must already exclude cached tokens."""
    total = (
        input_tokens * price.input
        + output_tokens * price.output
        + cache_read * price.cache_read
        + cache_write * price.cache_write
    ) / 1_000_000
    return total * BATCH_DISCOUNT if batch else total


def spec_table(prices: Mapping[str, Any]) -> dict[str, ModelPrice]:
    """A corpus spec's `prices:` section (input/output/cache_read/cache_write per model)."""
    return {
        k: ModelPrice(p.input, p.output, p.cache_read, p.cache_write) for k, p in prices.items()
    }


def resolve_price(
    prices: Mapping[str, Any], provider: str, model: str
) -> tuple[ModelPrice | None, str]:
    """The spec's `prices:`, else free for the local model, else our Anthropic table
    (anthropic provider) or OpenAI table (litellm), else litellm's bundled cost map;
    with where it came from."""
    table = spec_table(prices)
    if table and (price := lookup_price(model, table)) is not None:
        return price, "spec prices"
    if provider == "local":
        return ModelPrice(0.0, 0.0, 0.0, 0.0), "local model (free)"
    if provider == "anthropic" and (price := lookup_price(model)) is not None:
        return price, "sdf-corpus Anthropic table (pricing/prices.py)"
    if provider == "litellm" and (price := lookup_price(model, OPENAI_PRICES)) is not None:
        return price, "sdf-corpus OpenAI table (pricing/prices.py)"
    price = _litellm_price(model)
    return (price, "litellm model_cost") if price else (None, "unknown (add it under `prices:`)")


def _litellm_price(model: str) -> ModelPrice | None:
    # Never fetch the remote cost map: only the copy bundled with the package.
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    try:
        import litellm
    except ImportError:
        return None
    costs: Mapping[str, Any] = litellm.model_cost
    row = costs.get(model) or costs.get(model.split("/", 1)[-1])
    if not row or "input_cost_per_token" not in row:
        return None
    per_m = 1_000_000
    inp = float(row.get("input_cost_per_token") or 0) * per_m
    return ModelPrice(
        inp,
        float(row.get("output_cost_per_token") or 0) * per_m,
        float(row.get("cache_read_input_token_cost") or 0) * per_m,
        float(row.get("cache_creation_input_token_cost") or inp / per_m) * per_m,
    )
