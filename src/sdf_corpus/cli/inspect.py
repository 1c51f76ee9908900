from __future__ import annotations

from pathlib import Path

import click

from sdf_corpus.cli._common import OneLineErrors, user_errors
from sdf_corpus.errors import InputError
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
    "--id",
    "ids",
    multiple=True,
    metavar="DOC_ID",
    help="Only this document (repeatable): read the neighbours --similar lists.",
)
@click.option(
    "--similar",
    "similar",
    default=None,
    metavar="DOC_ID",
    help="Show this document's nearest neighbours by meaning (cosine of the embedder), "
    "from its own genre.",
)
@click.option(
    "--any-genre",
    is_flag=True,
    help="With --similar: look for neighbours in every genre, not only the document's.",
)
@click.option(
    "-n",
    "n",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="How many documents (or neighbours) to show.",
)
@user_errors
def inspect(
    run_dir: Path,
    genre: str | None,
    principle: str | None,
    persona: str | None,
    rejected: str | None,
    ids: tuple[str, ...],
    similar: str | None,
    any_genre: bool,
    n: int,
) -> None:
    """Print documents of RUN_DIR readably, filtered by genre, principle, persona or drop
    reason; or, with --similar DOC_ID, a document's nearest neighbours by meaning."""
    if similar is not None or any_genre:
        _similar(run_dir, similar, any_genre, n, genre or principle or persona or rejected or ids)
        return
    query = InspectQuery(
        genre=genre, principle=principle, persona=persona, rejected=rejected, n=n, ids=ids
    )
    shown = 0
    for block in inspect_run(run_dir, query):
        click.echo(block)
        shown += 1
    if shown == 0:
        click.echo("no matching documents", err=True)


def _similar(run_dir: Path, doc_id: str | None, any_genre: bool, n: int, other: object) -> None:
    from sdf_corpus.report.similar import find_similar, format_similar

    if doc_id is None:
        raise InputError("--any-genre", "only applies with --similar", "add --similar DOC_ID")
    if other:
        raise InputError(
            "--similar",
            "does not combine with --genre, --principle, --persona, --rejected or --id",
            "drop those (use --any-genre to look beyond the document's genre)",
        )
    click.echo(format_similar(find_similar(run_dir, doc_id, n, any_genre=any_genre)))
