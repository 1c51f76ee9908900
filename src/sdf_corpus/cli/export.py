"""`sdf-corpus export`: a run's shards as JSONL for trainers."""

from __future__ import annotations

from pathlib import Path

import click

from sdf_corpus.cli._common import OneLineErrors, user_errors


@click.command(cls=OneLineErrors)
@click.argument("run_dir", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl-messages", "text"]),
    default="jsonl-messages",
    show_default=True,
    help="jsonl-messages: chat documents as {messages, tools}; text: every document.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Output file (default RUN_DIR/export/messages.jsonl or text.jsonl).",
)
@user_errors
def export(run_dir: Path, fmt: str, out: Path | None) -> None:
    """Write RUN_DIR/shards/*.parquet as JSONL that common trainers read."""
    from sdf_corpus.recipes.export import export_run

    result = export_run(run_dir, fmt, out)  # type: ignore[arg-type]
    from sdf_corpus.report.terminal import count

    unit = "conversation" if fmt == "jsonl-messages" else "document"
    line = f"wrote {count(result.written, unit)} to {result.path}"
    if result.skipped:
        line += (
            f"; skipped {result.skipped:,} document-format documents "
            "(export them with --format text)"
        )
    click.echo(line)
