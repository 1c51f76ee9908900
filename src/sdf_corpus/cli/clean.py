from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from sdf_corpus.clean.config import CleanConfig
from sdf_corpus.cli._common import OneLineErrors, user_errors
from sdf_corpus.errors import SpecError
from sdf_corpus.io import check_output_dir, read_yaml, require_file
from sdf_corpus.spec.genres import _first_error
from sdf_corpus.spec.load import apply_override


def load_clean_config(config: Path | None, overrides: tuple[str, ...]) -> CleanConfig:
    raw: dict[str, Any] = {}
    where = str(config) if config else "--set"
    if config is not None:
        loaded = read_yaml(config, "a clean settings file") or {}
        # accept either a bare clean section or a whole corpus spec holding one
        raw = loaded.get("clean", loaded) if isinstance(loaded, dict) else {}
    for item in overrides:
        apply_override(raw, item)
    try:
        return CleanConfig.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(where, _first_error(exc)) from None


def external_semantic(settings: CleanConfig, flag: bool | None) -> CleanConfig:
    """The semantic step for text from elsewhere: what --semantic/--no-semantic says, else
    what the settings say explicitly, else off. Its defaults were calibrated on generated
    stories; on other text (reference prose, forum threads on one subject) documents on a
    shared subject can pass them, and dropping a user's own documents needs asking for."""
    chosen = "semantic" in settings.model_fields_set and (
        "enabled" in settings.semantic.model_fields_set
    )
    enabled = flag if flag is not None else (settings.semantic.enabled if chosen else False)
    semantic = settings.semantic.model_copy(update={"enabled": enabled})
    return settings.model_copy(update={"semantic": semantic})


@click.command(cls=OneLineErrors)
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Folder for shards/, rejected/, manifest.json and clean_stats.json.",
)
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="YAML with clean settings (a `clean:` section or a corpus spec).",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a clean setting, e.g. --set dedup.threshold=0.7.",
)
@click.option(
    "--decontaminate",
    "eval_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Drop documents sharing long n-grams with these evaluation items: a probe-set "
    "folder or a JSONL/Parquet file (repeatable; adds to decontamination.files).",
)
@click.option(
    "--semantic/--no-semantic",
    default=None,
    help="Drop documents that retell one already kept in their genre (semantic.* "
    "settings). Default: off for text from elsewhere, unless the settings turn it on.",
)
@click.option("--no-progress", is_flag=True)
@user_errors
def clean(
    inputs: tuple[Path, ...],
    out: Path,
    config: Path | None,
    overrides: tuple[str, ...],
    eval_paths: tuple[Path, ...],
    semantic: bool | None,
    no_progress: bool,
) -> None:
    """Deduplicate, filter and shard any JSONL/Parquet collection with a `text` column."""
    from sdf_corpus.clean.inputs import read_documents
    from sdf_corpus.clean.pipeline import clean as clean_documents
    from sdf_corpus.report.terminal import count

    for path in inputs:
        require_file(path, "an input file (JSONL, JSONL.gz or Parquet)")
    settings = external_semantic(load_clean_config(config, overrides), semantic)
    check_output_dir(out)
    if eval_paths:
        decont = settings.decontamination
        files = [*decont.files, *eval_paths]
        settings.decontamination = decont.model_copy(update={"files": files})
    stats = clean_documents(read_documents(list(inputs)), out, settings, progress=not no_progress)
    from sdf_corpus.handoff.card import write_run_card
    from sdf_corpus.runfolder import RunFolder

    write_run_card(out, RunFolder(out).shards())  # the dataset card
    data = stats.to_json()
    click.echo(
        f"kept {data['kept']['docs']:,} of {count(data['input']['docs'], 'document')} "
        f"({data['kept']['tokens']:,} of {count(data['input']['tokens'], 'token')}); "
        f"dropped {json.dumps(stats.dropped_by_reason(), sort_keys=True)}; "
        f"shards in {out / 'shards'}, card in {out / 'README.md'}"
    )
