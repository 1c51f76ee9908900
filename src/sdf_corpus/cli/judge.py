from __future__ import annotations

from pathlib import Path

import click

from sdf_corpus.cli._common import OneLineErrors, raise_if_stopped, spec_options, user_errors
from sdf_corpus.errors import Interrupted, SpecError
from sdf_corpus.generate.runner import RunOptions
from sdf_corpus.pipeline import clean_run, judge_and_apply
from sdf_corpus.spec.load import load_corpus


@click.command(cls=OneLineErrors)
@spec_options
@click.option(
    "--max-cost",
    type=click.FloatRange(min=0),
    default=None,
    metavar="USD",
    help="Stop cleanly before total spend of this run would cross USD.",
)
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@user_errors
def judge(
    spec: Path,
    out: Path | None,
    overrides: tuple[str, ...],
    max_cost: float | None,
    no_progress: bool,
) -> None:
    """Score the run's documents with the spec's judge rubric and filter on it (resumable)."""
    corpus = load_corpus(spec, list(overrides), out)
    if not corpus.spec.judge.enabled:
        raise SpecError(
            str(spec),
            "field judge.enabled is false",
            "set judge.enabled: true (or --set judge.enabled=true) and a judge provider/model",
        )
    limit = max_cost if max_cost is not None else corpus.spec.budget.max_cost
    options = RunOptions(max_cost=limit, progress=not no_progress)
    clean_run(corpus, progress=options.progress)  # fresh shards, then scores go into them
    try:
        result = judge_and_apply(corpus, options)
    except KeyboardInterrupt:
        raise Interrupted("interrupted; judgements made so far are kept") from None
    from sdf_corpus.report import write_report

    click.echo(result.sentence())
    click.echo(write_report(corpus.run_dir, progress=False))
    raise_if_stopped(result.stopped)
