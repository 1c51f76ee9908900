from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sdf_corpus.cli._common import OneLineErrors, spec_options, user_errors
from sdf_corpus.ideas.cells import pool_note
from sdf_corpus.plan.summary import format_table, summarise_plan
from sdf_corpus.spec.load import Corpus, load_corpus

if TYPE_CHECKING:
    from sdf_corpus.pricing.estimate import Estimate
    from sdf_corpus.pricing.pool import PoolFigures


@click.command(cls=OneLineErrors)
@spec_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan summary as JSON.")
@click.option(
    "--estimate",
    is_flag=True,
    help="Also estimate tokens and cost per stage, immediate and batch (docs/cost.md).",
)
@click.option(
    "--max-cost",
    type=click.FloatRange(min=0),
    default=None,
    metavar="USD",
    help="Warn when the estimate exceeds USD (default: the spec's budget.max_cost).",
)
@click.option(
    "--probes", "probes", is_flag=True, help="Plan the probe set instead (`sdf-corpus probes`)."
)
@user_errors
def plan(
    spec: Path,
    out: Path | None,
    overrides: tuple[str, ...],
    as_json: bool,
    estimate: bool,
    max_cost: float | None,
    probes: bool,
) -> None:
    """Show what a build of SPEC would generate, before anything is spent."""
    if probes:
        from sdf_corpus.cli.probes import echo_probe_plan

        echo_probe_plan(
            load_corpus(spec, list(overrides)), out, estimate=estimate, max_cost=max_cost
        )
        return
    corpus = load_corpus(spec, list(overrides), out)
    summary = summarise_plan(corpus)
    cost, sides = None, []
    if estimate:
        from sdf_corpus.judge.estimate import add_judge_estimate
        from sdf_corpus.pricing.estimate import estimate_cost

        cost = estimate_cost(corpus)
        add_judge_estimate(corpus, cost)
        sides = _pool_sides(corpus, cost)
    limit = max_cost if max_cost is not None else corpus.spec.budget.max_cost
    if as_json:
        data = summary.as_dict()
        data["ideas"] = pool_note(corpus)
        if cost is not None:
            data["estimate"] = {**cost.as_dict(), "max_cost": limit}
            if sides:
                data["estimate"]["idea_pool"] = {s.label: s.as_dict() for s in sides}
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(
        f"plan for {corpus.spec.name}: {corpus.spec.budget.tokens:,} tokens wanted "
        f"after cleaning (expected drop rate {corpus.spec.budget.expected_drop_rate:.0%})"
    )
    click.echo(format_table(summary))
    click.echo(pool_note(corpus))
    from sdf_corpus.budget.notes import plan_notes

    click.echo("\n".join(plan_notes(corpus)))
    if cost is not None:
        from sdf_corpus.pricing.estimate import format_estimate
        from sdf_corpus.pricing.pool import format_comparison

        click.echo("")
        click.echo(format_estimate(cost, limit))
        if sides:
            click.echo(format_comparison(sides))


def _pool_sides(corpus: Corpus, cost: Estimate) -> list[PoolFigures]:
    """The same plan priced with each job asking for its own ideas, beside the pool's."""
    from sdf_corpus.ideas.cells import pool_applies

    if not pool_applies(corpus):
        return []
    from sdf_corpus.judge.estimate import add_judge_estimate
    from sdf_corpus.pricing.estimate import estimate_cost
    from sdf_corpus.pricing.pool import compare

    own = estimate_cost(corpus, pool=False)
    add_judge_estimate(corpus, own)
    return compare(corpus, cost, own)
