"""The run folder's JSON files: manifest.json and clean_stats.json, read and written.

`manifest.json` is written last by every stage that changes the shards, so its
presence means the folder is complete; `clean_stats.json` is a `CleanStats`
(see docs/clean.md for its format), read back as one so a later stage (the
judge) records its drops through the same counters instead of editing JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sdf_corpus.clean.stats import CleanStats
from sdf_corpus.errors import InputError
from sdf_corpus.runfolder.files import write_json_atomic
from sdf_corpus.runfolder.paths import RunFolder

__all__ = [
    "read_clean_stats",
    "read_json",
    "read_json_or_empty",
    "read_manifest",
    "write_clean_stats",
    "write_manifest",
]


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object file we wrote, or a one-line error saying to write it again."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: unreadable JSON ({exc}); re-run the clean stage") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object; re-run the clean stage")
    return data


def read_json_or_empty(path: Path) -> dict[str, Any]:
    """For readers that only gain from the file: missing or damaged reads as `{}`."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def read_manifest(run: RunFolder) -> dict[str, Any]:
    if not run.manifest.is_file():
        raise InputError(
            f"{run.root}: no manifest.json; run `sdf-corpus build` or `sdf-corpus clean` first"
        )
    return read_json(run.manifest)


def write_manifest(run: RunFolder, manifest: dict[str, Any]) -> None:
    """Write it after everything it describes: its presence means the folder is complete."""
    write_json_atomic(run.manifest, manifest)


def read_clean_stats(run: RunFolder) -> CleanStats | None:
    """The clean stage's counts, or None for a folder without clean_stats.json."""
    if not run.clean_stats.is_file():
        return None
    return CleanStats.from_json(read_json(run.clean_stats))


def write_clean_stats(run: RunFolder, stats: CleanStats) -> None:
    write_json_atomic(run.clean_stats, stats.to_json())
