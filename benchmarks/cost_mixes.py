"""Dollars per kept million tokens of a corpus under several stage mixes (docs/cost.md).

    .venv/bin/python benchmarks/cost_mixes.py [corpora/sdf-350m.yaml]

Each mix is a list of `--set` overrides (a model and provider per stage, through
`backend.stages`); the figure is `plan --estimate`'s (sdf_corpus.pricing.estimate, the
prices in pricing/prices.py with their dates) divided by the spec's `budget.tokens`,
the tokens the cleaned corpus keeps. Sends nothing. The baseline is the first mix,
one model throughout, computed in the same run.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sdf_corpus.pricing.estimate import estimate_cost
from sdf_corpus.spec.load import load_corpus

HAIKU, SONNET = "claude-haiku-4-5", "claude-sonnet-4-5"
MINI, NANO = "openai/gpt-5.4-mini", "openai/gpt-5.4-nano"


def _stage(stage: str, model: str, provider: str = "anthropic") -> list[str]:
    sets = [f"backend.stages.{stage}.model={model}"]
    if provider != "anthropic":
        sets.append(f"backend.stages.{stage}.provider={provider}")
    return sets


def _cheap(model: str, provider: str = "litellm") -> list[str]:
    """Ideas, outlines and drafts on `model`."""
    return [*_stage("idea", model, provider), *_stage("outline", model, provider),
            *_stage("draft", model, provider)]  # fmt: skip


MIXES: dict[str, list[str]] = {
    f"one model throughout: {HAIKU}": [],
    f"one model throughout: {SONNET}": [f"backend.model={SONNET}"],
    f"small model for ideas and outlines (claude-haiku-5-5), {HAIKU} draft, {SONNET} rewrite": [
        *_stage("idea", "claude-haiku-5-5"),
        *_stage("outline", "claude-haiku-5-5"),
        *_stage("rewrite", SONNET),
    ],
    f"two providers: ideas, outlines on {NANO}, drafts on {MINI}; rewrite on {SONNET}": [
        *_stage("idea", NANO, "litellm"),
        *_stage("outline", NANO, "litellm"),
        *_stage("draft", MINI, "litellm"),
        *_stage("rewrite", SONNET),
    ],
    f"two providers: ideas, outlines, drafts on {NANO}; rewrite on claude-sonnet-5-5": [
        *_cheap(NANO),
        *_stage("rewrite", "claude-sonnet-5-5"),
    ],
    f"two providers: ideas, outlines, drafts on {NANO}; rewrite on {HAIKU}": _cheap(NANO),
    f"two providers: ideas, outlines, drafts on {NANO}; rewrite on claude-haiku-5-5": [
        *_cheap(NANO),
        *_stage("rewrite", "claude-haiku-5-5"),
    ],
    "one provider: ideas, outlines, drafts on claude-haiku-5-5; rewrite on claude-sonnet-5-5": [
        *_cheap("claude-haiku-5-5", "anthropic"),
        *_stage("rewrite", "claude-sonnet-5-5"),
    ],
}


def main(spec: Path) -> None:
    base = None
    print(f"{spec}: $ per kept million tokens (immediate / batch), ratio to the first mix")
    for name, sets in MIXES.items():
        corpus = load_corpus(spec, sets)
        kept = corpus.spec.budget.tokens / 1e6
        est = estimate_cost(corpus)
        now, batch = est.total("cost_usd"), est.total("batch_cost_usd")
        if now is None or batch is None:
            print(f"  {name}: a model has no price")
            continue
        base = base or batch
        print(
            f"  {name}\n    ${now:,.0f} / ${batch:,.0f} total; "
            f"${now / kept:.2f} / ${batch / kept:.2f} per kept M tokens; "
            f"batch x{batch / base:.2f}"
        )
        for row in est.by_model():
            print(f"      {row['stage']:<8} {row['model']:<22} batch ${row['batch_cost_usd']:,.0f}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "corpora/sdf-350m.yaml"))
