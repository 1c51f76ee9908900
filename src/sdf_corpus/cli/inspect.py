from __future__ import annotations

from pathlib import Path

import click

from sdf_corpus.cli._common import OneLineErrors, user_errors
from sdf_corpus.report.inspect import InspectQuery, inspect_run


@click.command(cls=OneLineErrors)
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--genre", default=None, help="Only documents of this genre.")
@click.option(
    "--principle", default=None, help="Only documents about this principle (id or title)."
)
@click.option("--persona", default=None, help="Only documents with this AI character (id or name).")
@click.option(
    "--rejected",
    "rejected",
    default=None,
    metavar="REASON",
    help="Show rejected documents with this drop reason (or 'all') instead of kept ones.",
)
@click.option(
    "-n",
    "n",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="How many documents to show.",
)
@user_errors
def inspect(
    run_dir: Path,
    genre: str | None,
    principle: str | None,
    persona: str | None,
    rejected: str | None,
    n: int,
) -> None:
    """Print documents of RUN_DIR readably, filtered by genre, principle, persona or drop reason."""
    query = InspectQuery(genre=genre, principle=principle, persona=persona, rejected=rejected, n=n)
    shown = 0
    for block in inspect_run(run_dir, query):
        click.echo(block)
        shown += 1
    if shown == 0:
        click.echo("no matching documents", err=True)
