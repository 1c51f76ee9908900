"""`sdf-corpus merge`: fold --shard ledgers into the run's own ledger."""

from __future__ import annotations

from pathlib import Path

import click

from sdf_corpus.cli._common import OneLineErrors, spec_options, user_errors
from sdf_corpus.spec.load import load_corpus


@click.command(cls=OneLineErrors)
@spec_options
@click.argument("sources", nargs=-1, type=click.Path(path_type=Path, exists=False))
@click.option(
    "--ledger",
    "ledgers",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="A shard ledger file to fold in (repeatable; the same as naming it as a SOURCE).",
)
@user_errors
def merge(
    spec: Path,
    out: Path | None,
    overrides: tuple[str, ...],
    sources: tuple[Path, ...],
    ledgers: tuple[Path, ...],
) -> None:
    """Fold the ledgers of `generate SPEC --shard I/N` into SPEC's run ledger.

    SOURCES are slice ledger files, or folders holding ledger.shard-*-of-*.sqlite
    files (other machines' run folders); without any, the run folder's own
    slices. Give the same spec and --set options the slices were generated with.
    The run then cleans, judges and reports as if built in one place:
    `sdf-corpus build SPEC` finds the merged jobs done and pays for none of them
    again. Merging twice is harmless."""
    from sdf_corpus.generate.merge import merge_ledgers
    from sdf_corpus.pipeline import open_ledger

    corpus = load_corpus(spec, list(overrides), out)
    result = merge_ledgers(corpus, [*sources, *ledgers] or None)
    ledger = open_ledger(corpus)
    try:
        t = ledger.totals()
    finally:
        ledger.close()
    click.echo(
        f"merged {len(result.sources)} ledger(s): {result.outputs} stage outputs, "
        f"{result.attempts} attempts, {result.jobs_finished} jobs finished\n"
        f"jobs {t.done}/{t.jobs} done, {t.failed} failed, {t.pending} pending; "
        f"spend ${t.cost_usd:.4f}; ledger {ledger.path}"
    )
    if result.missing:
        click.echo(
            f"warning: no ledger for slice(s) {', '.join(result.missing)}; their jobs stay "
            "pending (merge again once they are there)",
            err=True,
        )
