"""`sdf-corpus export`: a run's shards in the shape a trainer reads."""

from __future__ import annotations

from pathlib import Path

import click

from sdf_corpus.cli._common import OneLineErrors, user_errors

_FORMATS = ["text", "openai-chat", "hf", "tokens", "jsonl-messages"]


@click.command(cls=OneLineErrors)
@click.argument("run_dir", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(_FORMATS),
    default="jsonl-messages",
    show_default=True,
    help="text: every document as {text}; openai-chat: provider fine-tuning JSONL; "
    "hf: a folder datasets.load_dataset reads; tokens: packed token ids (datatrove); "
    "jsonl-messages: chat documents as {messages, tools} with metadata (TRL, Axolotl).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Output file (JSONL formats) or folder (hf, tokens); default RUN_DIR/export/...",
)
@click.option("--doc-prefix", default="", help="text: prepend this tag to every document.")
@click.option(
    "--max-example-tokens",
    type=click.IntRange(min=1),
    default=65_536,
    show_default=True,
    help="openai-chat: skip conversations longer than this (the providers' limit).",
)
@click.option(
    "--tokenizer",
    default=None,
    help="tokens: a tokenizer.json, a folder holding one, a .gguf file, or 'gemma' "
    "(the tokenizer inside the bundled Gemma 3 270M GGUF).",
)
@click.option(
    "--seq-len",
    type=click.IntRange(min=8),
    default=2048,
    show_default=True,
    help="tokens: the packed sequence length the trainer reads.",
)
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@user_errors
def export(
    run_dir: Path,
    fmt: str,
    out: Path | None,
    doc_prefix: str,
    max_example_tokens: int,
    tokenizer: str | None,
    seq_len: int,
    no_progress: bool,
) -> None:
    """Write RUN_DIR/shards/*.parquet (a build, a clean or a mix) for a trainer."""
    from sdf_corpus.handoff.export import ExportOptions, export_run
    from sdf_corpus.report.terminal import count

    options = ExportOptions(
        doc_prefix=doc_prefix,
        max_example_tokens=max_example_tokens,
        tokenizer=tokenizer,
        seq_len=seq_len,
        progress=not no_progress,
    )
    result = export_run(run_dir, fmt, out, options)
    unit = "document" if fmt in ("text", "hf", "tokens") else "conversation"
    line = f"wrote {count(result.written, unit)} ({result.tokens:,} tokens) to {result.path}"
    if result.skipped:
        line += "; skipped " + ", ".join(_skip(r, n) for r, n in sorted(result.skipped.items()))
    click.echo(line)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"manifest: {result.manifest}")


def _skip(reason: str, n: int) -> str:
    if reason == "document_format":
        return f"{n:,} document-format documents (export them with --format text)"
    return f"{n:,} {reason}"
