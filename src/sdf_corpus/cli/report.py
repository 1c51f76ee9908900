from __future__ import annotations

from pathlib import Path

import click

from sdf_corpus.cli._common import OneLineErrors, user_errors
from sdf_corpus.report import SemanticLimits, write_report
from sdf_corpus.report.semantic import DEFAULT_THRESHOLD


@click.command(cls=OneLineErrors)
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option(
    "--no-semantic",
    is_flag=True,
    help="Leave out the meaning figures (clusters, Vendi score, map): embed nothing.",
)
@click.option(
    "--semantic-threshold",
    type=click.FloatRange(0.0, 1.0),
    default=DEFAULT_THRESHOLD,
    show_default=True,
    help="Document cosine at or above which two documents of a genre count as "
    "near-duplicates in the meaning figures.",
)
@user_errors
def report(run_dir: Path, no_progress: bool, no_semantic: bool, semantic_threshold: float) -> None:
    """Summarise RUN_DIR: mix vs target, coverage, names, lengths, drops, spend, diversity
    of words and of meaning.

    Writes RUN_DIR/report.json and a self-contained RUN_DIR/report.html.
    """
    limits = SemanticLimits(threshold=semantic_threshold)
    click.echo(
        write_report(run_dir, progress=not no_progress, meaning=not no_semantic, semantic=limits)
    )
