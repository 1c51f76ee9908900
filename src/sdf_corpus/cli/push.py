"""`sdf-corpus push`: upload a run to the Hugging Face Hub as a dataset repo."""

from __future__ import annotations

from pathlib import Path

import click

from sdf_corpus.cli._common import OneLineErrors, user_errors


@click.command(cls=OneLineErrors)
@click.argument("run_dir", type=click.Path(path_type=Path, file_okay=False))
@click.argument("repo_id")
@click.option("--private", is_flag=True, help="Create the dataset repo as private.")
@click.option("--dry-run", is_flag=True, help="List what would be uploaded; upload nothing.")
@user_errors
def push(run_dir: Path, repo_id: str, private: bool, dry_run: bool) -> None:
    """Upload RUN_DIR's card, shards, manifest and report to REPO_ID (token from HF_TOKEN)."""
    from sdf_corpus.handoff.push import push_run

    result = push_run(run_dir, repo_id, private=private, dry_run=dry_run)
    for path, size in result.files:
        click.echo(f"{path}\t{size:,} bytes")
    total = sum(size for _, size in result.files)
    if result.url is None:
        click.echo(f"dry run: {len(result.files)} files, {total:,} bytes would go to {repo_id}")
    else:
        click.echo(f"pushed {len(result.files)} files ({total:,} bytes) to {repo_id}: {result.url}")
