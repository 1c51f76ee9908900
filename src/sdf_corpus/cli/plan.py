from __future__ import annotations

import json
from pathlib import Path

import click

from sdf_corpus.cli._common import spec_options, user_errors
from sdf_corpus.plan.summary import format_table, summarise_plan
from sdf_corpus.spec.load import load_corpus


@click.command()
@spec_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan summary as JSON.")
@user_errors
def plan(spec: Path, out: Path | None, overrides: tuple[str, ...], as_json: bool) -> None:
    """Show what a build of SPEC would generate, before anything is spent."""
    corpus = load_corpus(spec, list(overrides), out)
    summary = summarise_plan(corpus)
    if as_json:
        click.echo(json.dumps(summary.as_dict(), indent=2))
    else:
        click.echo(f"plan for {corpus.spec.name}: {corpus.spec.budget.tokens:,} tokens wanted "
                   f"after cleaning (expected drop rate {corpus.spec.budget.expected_drop_rate:.0%})")
        click.echo(format_table(summary))
