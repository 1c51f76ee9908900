from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from sdf_corpus.build import build as build_run
from sdf_corpus.cli._common import F, OneLineErrors, raise_if_stopped, spec_options, user_errors
from sdf_corpus.errors import IncompleteBuildError, Interrupted
from sdf_corpus.generate.runner import RunOptions
from sdf_corpus.io import check_output_dir
from sdf_corpus.pipeline import generate as generate_run
from sdf_corpus.pipeline import open_ledger
from sdf_corpus.plan.shard import Shard, parse_shard
from sdf_corpus.sampling import describe_error
from sdf_corpus.spec.load import Corpus, load_corpus

T = TypeVar("T")


def run_options(func: F) -> F:
    func = click.option(
        "--max-cost",
        type=click.FloatRange(min=0),
        default=None,
        metavar="USD",
        help="Stop cleanly before total spend of this run would cross USD.",
    )(func)
    func = click.option(
        "--batch",
        is_flag=True,
        help="Use the Message Batches API (anthropic): half price, results "
        "within 24h; polled and resumed from the ledger.",
    )(func)
    func = click.option(
        "--retry-failed",
        is_flag=True,
        help="Retry jobs that exhausted their attempts in an earlier run.",
    )(func)
    return click.option("--no-progress", is_flag=True, help="No progress bar.")(func)


def _load_for_run(spec: Path, overrides: tuple[str, ...], out: Path | None) -> Corpus:
    """The corpus, once its run folder is known to be writable (before anything is spent)."""
    corpus = load_corpus(spec, list(overrides), out)
    check_output_dir(corpus.run_dir, "--out" if out else f"`output` in {spec}")
    return corpus


def _options(corpus: Corpus, max_cost: float | None, no_progress: bool) -> RunOptions:
    limit = max_cost if max_cost is not None else corpus.spec.budget.max_cost
    return RunOptions(max_cost=limit, progress=not no_progress)


def _summary(corpus: Corpus, shard: Shard | None = None) -> str:
    """The end-of-run screen: what the ledger holds now, whatever this run did."""
    ledger = open_ledger(corpus, shard)
    try:
        t = ledger.totals()
        errors = ledger.error_classes()
    finally:
        ledger.close()
    failures = ", ".join(f"{describe_error(name)} x{n}" for name, n in errors) or "none"
    return "\n".join(
        [
            f"jobs {t.done}/{t.jobs} done, {t.failed} failed, {t.pending} pending",
            f"  requests  {t.requests:,} (failed attempts: {failures})",
            f"  tokens    {t.input_tokens:,} in, {t.output_tokens:,} out; "
            f"cache read {t.cache_read_tokens:,}, write {t.cache_write_tokens:,}",
            f"  spend     ${t.cost_usd:.4f}",
            f"  ledger    {ledger.path}",
        ]
    )


def workers_option(func: F) -> F:
    return click.option(
        "--workers",
        type=click.IntRange(min=1),
        default=1,
        show_default=True,
        help="Generate in this many processes over disjoint slices of the jobs, "
        "sharing backend.concurrency, rate limits, --max-cost and the ledger.",
    )(func)


@click.command(cls=OneLineErrors)
@spec_options
@run_options
@click.option(
    "--shard",
    "shard_text",
    metavar="I/N",
    default=None,
    help="Generate only slice I of N (0-based) of the plan, into its own "
    "ledger.shard-I-of-N.sqlite; `sdf-corpus merge` folds the slices into one run.",
)
@workers_option
@user_errors
def generate(
    spec: Path,
    out: Path | None,
    overrides: tuple[str, ...],
    max_cost: float | None,
    batch: bool,
    retry_failed: bool,
    no_progress: bool,
    shard_text: str | None,
    workers: int,
) -> None:
    """Generate the planned documents of SPEC into its run ledger (resumable)."""
    shard = parse_shard(shard_text) if shard_text is not None else None
    corpus = _load_for_run(spec, overrides, out)
    options = _options(corpus, max_cost, no_progress)
    result = _interruptible(
        corpus,
        lambda: generate_run(
            corpus, options, retry_failed=retry_failed, batch=batch, shard=shard, workers=workers
        ),
        shard,
    )
    click.echo(_summary(corpus, shard))
    raise_if_stopped(result.stopped)
    if result.jobs_failed and not result.jobs_done:
        raise IncompleteBuildError(
            f"generate: none of the {result.jobs_failed:,} jobs tried succeeded; the failed "
            "attempts are listed above and in ledger.sqlite"
        )


def _interruptible(corpus: Corpus, work: Callable[[], T], shard: Shard | None = None) -> T:
    """Ctrl-C stops after committing what is in hand; the message carries the ledger summary."""
    try:
        return work()
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted; committed work is kept. {_summary(corpus, shard)}"
        ) from None


@click.command(cls=OneLineErrors)
@spec_options
@run_options
@workers_option
@user_errors
def build(
    spec: Path,
    out: Path | None,
    overrides: tuple[str, ...],
    max_cost: float | None,
    batch: bool,
    retry_failed: bool,
    no_progress: bool,
    workers: int,
) -> None:
    """Plan, generate, clean, judge and report SPEC end to end (resumable; idempotent)."""
    corpus = _load_for_run(spec, overrides, out)
    options = _options(corpus, max_cost, no_progress)
    result = _interruptible(
        corpus,
        lambda: build_run(corpus, options, retry_failed=retry_failed, batch=batch, workers=workers),
    )
    from sdf_corpus.outcome import explain, incomplete_error

    click.echo(_summary(corpus))
    click.echo(json.dumps(result.as_dict()))
    _report(corpus)
    if result.judge is not None:
        click.echo(result.judge.sentence())
    click.echo("\n".join(explain(corpus, result)))
    raise_if_stopped(result.stopped)
    error = incomplete_error(corpus, result)
    if error is not None:
        raise error


def _report(corpus: Corpus) -> None:
    from sdf_corpus.report import write_report

    click.echo(write_report(corpus.run_dir, progress=False))
