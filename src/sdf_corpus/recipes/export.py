"""Export a run's shards to the JSONL shapes common trainers read.

- `jsonl-messages`: one `{"id", "genre", "messages", "tools"?}` per chat-format
  document (the shape of OpenAI/TRL/Axolotl chat data). Document-format rows are
  skipped and counted: turning an article into a fake one-turn chat would teach
  the wrong thing, so export them with `text` instead.
- `text`: one `{"id", "genre", "text"}` per document of either format.

Rows stream from the Parquet shards batch by batch; the output is written to a
temporary file and renamed, so a reader never sees half an export.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sdf_corpus.errors import InputError
from sdf_corpus.io import check_output_file, open_parquet, shown

__all__ = ["ExportResult", "export_run"]

Format = Literal["jsonl-messages", "text"]
_COLUMNS = ["id", "genre", "format", "text", "messages", "tools"]


@dataclass(frozen=True)
class ExportResult:
    path: Path
    written: int
    skipped: int


def default_path(run_dir: Path, fmt: Format) -> Path:
    return run_dir / "export" / ("messages.jsonl" if fmt == "jsonl-messages" else "text.jsonl")


def export_run(run_dir: Path, fmt: Format, out: Path | None = None) -> ExportResult:
    if not run_dir.is_dir():
        raise InputError(shown(run_dir), "no such run directory", "give the folder a build wrote")
    shards = sorted((run_dir / "shards").glob("*.parquet"))
    if not shards:
        raise InputError(
            f"{run_dir / 'shards'}: no Parquet shards found "
            "(run `sdf-corpus build` or `clean` first)"
        )
    out = out or default_path(run_dir, fmt)
    check_output_file(out)
    for shard in shards:  # every shard is readable before the output folder is made
        open_parquet(shard, "a Parquet shard")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    written = skipped = 0
    try:
        with tmp.open("w", encoding="utf-8") as f:
            for row in _rows(shards):
                record = _record(row, fmt)
                if record is None:
                    skipped += 1
                    continue
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
                written += 1
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return ExportResult(out, written, skipped)


def _rows(shards: list[Path]) -> Iterator[dict[str, Any]]:
    for shard in shards:
        file = open_parquet(shard, "a Parquet shard")
        columns = [c for c in _COLUMNS if c in file.schema_arrow.names]
        for batch in file.iter_batches(columns=columns, batch_size=1024):
            yield from batch.to_pylist()


def _record(row: dict[str, Any], fmt: Format) -> dict[str, Any] | None:
    base = {"id": row.get("id"), "genre": row.get("genre")}
    if fmt == "text":
        return {**base, "text": row.get("text")}
    messages = _json_list(row.get("messages"))
    if row.get("format") != "chat" or not messages:
        return None
    record: dict[str, Any] = {**base, "messages": messages}
    tools = _json_list(row.get("tools"))
    if tools:
        record["tools"] = tools
    return record


def _json_list(value: Any) -> list[Any] | None:
    if isinstance(value, list):
        return value
    if not value:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, list) else None
