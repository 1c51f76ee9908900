"""Read any JSONL or Parquet collection with a `text` column as Documents.

Known columns map to Document fields; all others travel in `metadata` and are
written back out as extra shard columns. Every file's first record (JSONL) or
schema (Parquet) is checked before the first document is yielded, so a bad
second file fails the run before anything is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import xxhash

from sdf_corpus.document import Document
from sdf_corpus.errors import InputError
from sdf_corpus.shards import entries_to_dict, quality_from_native

__all__ = ["read_documents"]

_FIELDS = {f.name for f in fields(Document)} - {"metadata"}
_JSON_FIELDS = {"messages", "tools", "attributes", "quality"}
_BATCH_ROWS = 1000


def read_documents(paths: Sequence[Path]) -> Iterator[Document]:
    """Documents from JSONL (`.jsonl`, `.json`) and Parquet (`.parquet`) files, in order."""
    for path in paths:
        _validate(Path(path))
    for path in paths:
        path = Path(path)
        rows = _parquet_rows(path) if _is_parquet(path) else _jsonl_rows(path)
        for where, row in rows:
            yield _to_document(row, where)


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in {".parquet", ".pq"}


def _validate(path: Path) -> None:
    if not path.is_file():
        raise InputError(f"{path}: no such file (give JSONL or Parquet files)")
    if _is_parquet(path):
        try:
            names = pq.read_schema(path).names
        except Exception as exc:  # pyarrow raises several types for non-Parquet bytes
            raise InputError(f"{path}: not a readable Parquet file ({exc})") from exc
    else:
        first = next(iter(_jsonl_rows(path)), None)
        if first is None:
            return  # an empty file holds no documents; nothing is wrong with it
        names = list(first[1])
    if "text" not in names:
        found = ", ".join(names) or "nothing"
        raise InputError(
            f"{path}: no 'text' column (found: {found}); name the column holding documents 'text'"
        )


def _jsonl_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"{path}:{n}: malformed JSON ({exc.msg}); fix or remove the line"
                ) from exc
            if not isinstance(row, dict):
                raise InputError(
                    f"{path}:{n}: expected a JSON object per line, got {type(row).__name__}"
                )
            yield f"{path}:{n}", row


def _parquet_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    n = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=_BATCH_ROWS):
        for row in batch.to_pylist():
            n += 1
            yield f"{path} row {n}", row


def _to_document(row: dict[str, Any], where: str) -> Document:
    text = row.get("text")
    if not isinstance(text, str):
        raise InputError(f"{where}: 'text' must be a string, got {type(text).__name__}")
    known: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    for key, value in row.items():
        if key in _FIELDS:
            if value is not None:
                known[key] = _decode(key, value, where)
        else:
            metadata[key] = value
    if not known.get("id"):
        known["id"] = xxhash.xxh3_128_hexdigest(text.encode("utf-8"))
    known["id"] = str(known["id"])
    if known.get("format") == "chat" and not text and known.get("messages"):
        known["text"] = "\n\n".join(str(m.get("content", "")) for m in known["messages"])
    return Document(**known, metadata=metadata)


def _decode(key: str, value: Any, where: str) -> Any:
    """JSON-string columns (as our own shards store them) back to objects."""
    if key == "attributes" and isinstance(value, list):
        return entries_to_dict(value)  # our own native shards: key/value entries
    if key == "quality" and isinstance(value, dict) and "notes" in value:
        return quality_from_native(value)
    if key in _JSON_FIELDS and isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: column '{key}' holds invalid JSON ({exc.msg})") from exc
    if key == "n_tokens":
        return int(value)
    if key == "truncated":
        return bool(value)
    return (
        str(value)
        if key
        in {"id", "genre", "format", "principle_id", "persona_id", "model", "backend", "created_at"}
        else value
    )
