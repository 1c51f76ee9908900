"""`sdf-corpus mix`: runs plus the user's own text at a token ratio, as shards."""

from __future__ import annotations

import re
from pathlib import Path

import click

from sdf_corpus.cli._common import OneLineErrors, user_errors

_RATIO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*$")


@click.command(cls=OneLineErrors)
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--with",
    "corpora",
    multiple=True,
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Your own corpus: Parquet or JSONL with a `text` column (repeatable).",
)
@click.option(
    "--ratio",
    default="1:1",
    show_default=True,
    help="Tokens of synthetic : real text, e.g. 1:1 or 1:99.",
)
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Shuffle and cut seed.")
@click.option(
    "--tokenizer",
    default=None,
    help='Count tokens with "approx" or "hf:PATH" (default: the first run\'s clean tokenizer).',
)
@click.option("--no-progress", is_flag=True, help="Hide the progress bars.")
@user_errors
def mix(
    runs: tuple[Path, ...],
    corpora: tuple[Path, ...],
    ratio: str,
    out: Path,
    seed: int,
    tokenizer: str | None,
    no_progress: bool,
) -> None:
    """Mix RUNS (build, clean or mix outputs) with your own text; every export reads the result."""
    from sdf_corpus.errors import InputError
    from sdf_corpus.handoff.mix import MixOptions
    from sdf_corpus.handoff.mix import mix as run_mix

    match = _RATIO.match(ratio)
    if not match:
        raise InputError(f"--ratio {ratio}: write it as SYNTHETIC:REAL tokens, e.g. 1:1 or 1:99")
    opts = MixOptions(
        synthetic=float(match[1]),
        real=float(match[2]),
        seed=seed,
        tokenizer=tokenizer,
        progress=not no_progress,
    )
    manifest = run_mix(list(runs), list(corpora), out, opts)
    m = manifest["mix"]
    click.echo(
        f"wrote {manifest['totals']['documents']:,} documents "
        f"({manifest['totals']['tokens']:,} tokens) to {out}/shards; synthetic share "
        f"{m['realised_synthetic_share']:.4f} (asked {m['requested_synthetic_share']:.4f})"
    )
    for name, s in m["sources"].items():
        click.echo(f"  {name} ({s['side']}): {s['docs']:,} docs, {s['tokens']:,} tokens")
