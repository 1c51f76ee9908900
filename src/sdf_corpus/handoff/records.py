"""Rows from shards, and the metadata every export keeps beside the text.

A researcher slices a trained-on corpus by genre, principle, persona, whom the
document is about (the subject or the invented cast) and judge scores; those
travel with each exported record so no export loses them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sdf_corpus.runfolder import RunFolder
from sdf_corpus.runfolder.rows import iter_rows
from sdf_corpus.shards import entries_to_dict

__all__ = ["META_COLUMNS", "metadata", "read_rows"]

META_COLUMNS = ("id", "genre", "format", "principle_id", "persona_id", "source")
_READ = (*META_COLUMNS, "text", "messages", "tools", "n_tokens", "judge", "attributes")
_JUDGE_META = ("rubric", "model", "justifications")


def read_rows(run_dir: Path) -> Iterator[dict[str, Any]]:
    """Every kept row of a run (or a `mix` output), in shard order."""
    yield from iter_rows(RunFolder(run_dir).require_shards(), _READ)


def metadata(row: dict[str, Any]) -> dict[str, Any]:
    meta = {k: row[k] for k in META_COLUMNS if row.get(k) is not None}
    about = entries_to_dict(row.get("attributes")).get("about")
    if about:
        meta["about"] = about  # "subject" or "cast": whom the document is about
    judge = row.get("judge")
    if judge:
        meta["judge"] = {k: v for k, v in judge.items() if k not in _JUDGE_META}
    return meta
