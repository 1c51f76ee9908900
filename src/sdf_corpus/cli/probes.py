from __future__ import annotations

import json
from pathlib import Path

import click

from sdf_corpus.cli._common import OneLineErrors, raise_if_stopped, user_errors
from sdf_corpus.cli.build import run_options
from sdf_corpus.errors import IncompleteBuildError, Interrupted
from sdf_corpus.generate.runner import RunOptions
from sdf_corpus.spec.load import Corpus, load_corpus


@click.command(cls=OneLineErrors)
@click.argument("spec", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Probe-set folder (default: NAME-probes beside the spec's run folder).",
)
@click.option(
    "--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a spec field."
)
@click.option(
    "--estimate", is_flag=True, help="Show the probe plan with tokens and cost; spend nothing."
)
@click.option(
    "--check-corpus",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Run folder or JSONL/Parquet corpus: probes sharing a 12-word run with it are set "
    "aside (repeatable; adds to probes.check_corpus).",
)
@run_options
@user_errors
def probes(
    spec: Path,
    out: Path | None,
    overrides: tuple[str, ...],
    estimate: bool,
    check_corpus: tuple[Path, ...],
    max_cost: float | None,
    batch: bool,
    retry_failed: bool,
    no_progress: bool,
) -> None:
    """Generate a probe set from SPEC's constitution and subject: multiple-choice
    questions, attachment pairs and agentic scenarios (resumable; see docs/eval.md)."""
    from sdf_corpus.probes.run import run_probes

    corpus = load_corpus(spec, list(overrides))
    # Added to, not replacing, what the spec lists.
    corpus.spec.probes.check_corpus.extend(str(p.resolve()) for p in check_corpus)
    if estimate:
        echo_probe_plan(corpus, out, estimate=True, max_cost=max_cost)
        return
    limit = max_cost if max_cost is not None else corpus.spec.budget.max_cost
    options = RunOptions(max_cost=limit, progress=not no_progress)
    try:
        result = run_probes(corpus, out, options, batch=batch, retry_failed=retry_failed)
    except KeyboardInterrupt:
        raise Interrupted(
            "interrupted; committed probes are kept in the ledger; re-run to resume"
        ) from None
    gen = result.generate
    click.echo(
        f"probes: {json.dumps(result.counts)}; unparsed {json.dumps(result.failures)}; "
        f"set aside for corpus overlap {result.set_aside}; "
        f"spend ${gen.spent_usd if gen else 0:.4f}; written to {result.out_dir}"
    )
    raise_if_stopped(result.stopped)
    if gen is not None and gen.jobs_failed and not gen.jobs_done:
        raise IncompleteBuildError(
            f"probes: none of the {gen.jobs_failed:,} jobs tried succeeded; the failed "
            f"attempts are in {result.out_dir / 'ledger.sqlite'}"
        )


def echo_probe_plan(
    corpus: Corpus, out: Path | None, *, estimate: bool, max_cost: float | None
) -> None:
    """The probe plan (jobs per kind), with its token and cost estimate if asked."""
    from sdf_corpus.probes.run import estimate_probes, probe_corpus, probe_counts

    if estimate:
        from sdf_corpus.pricing.estimate import format_estimate

        counts, cost = estimate_probes(corpus, out)
    else:
        counts = probe_counts(probe_corpus(corpus, out))
    principles = len(corpus.spec.probes.principles) or len(corpus.constitution.principles)
    click.echo(
        f"probe plan for {corpus.spec.name}: {sum(counts.values()):,} probes over "
        f"{principles} principles (seed {corpus.spec.probes.seed})"
    )
    for kind, n in counts.items():
        click.echo(f"  {kind:<20} {n:>6,}")
    if estimate:
        click.echo("")
        click.echo(format_estimate(cost, max_cost))
