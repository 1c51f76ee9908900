"""Read any JSONL (plain or gzip) or Parquet collection with a `text` column as Documents.

Known columns map to Document fields; all others travel in `metadata` and are
written back out as extra shard columns. Every file is checked before the
first document is yielded (that it exists, what its bytes are, its first record
or schema, that it holds at least one record), so a bad second file fails the
run before anything is written. Reading itself goes through `sdf_corpus.io`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import xxhash

from sdf_corpus.document import Document
from sdf_corpus.errors import InputError
from sdf_corpus.io.readers import iter_jsonl, open_parquet, require_file, sniff
from sdf_corpus.shards import entries_to_dict, quality_from_native

__all__ = ["read_documents"]

# A plan position is the generation's own: a column of that name in a user's file is
# carried as an extra column, not taken as an order.
_FIELDS = {f.name for f in fields(Document)} - {"metadata", "plan_position"}
_JSON_FIELDS = {"messages", "tools", "attributes", "quality"}
_BATCH_ROWS = 1000
_WHAT = "an input file (JSONL, JSONL.gz or Parquet)"


def read_documents(paths: Sequence[Path]) -> Iterator[Document]:
    """Documents from JSONL (plain or gzip) and Parquet files, in order.

    A file is read as Parquet when its name ends in `.parquet`/`.pq` or its bytes
    are Parquet; everything else must be JSONL.
    """
    for path in paths:
        _validate(Path(path))
    for path in paths:
        path = Path(path)
        rows = _parquet_rows(path) if _is_parquet(path) else _jsonl_rows(path)
        for where, row in rows:
            yield _to_document(row, where)


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in {".parquet", ".pq"} or sniff(path) == "parquet"


def _validate(path: Path) -> None:
    require_file(path, _WHAT)
    if _is_parquet(path):
        file = open_parquet(path)
        schema = file.schema_arrow
        if "text" in schema.names and not _is_string(schema.field("text").type):
            raise InputError(
                str(path),
                f"column 'text' holds {schema.field('text').type}, not strings",
                "store the documents' text as a string column",
            )
        names = list(schema.names)
        empty = file.metadata.num_rows == 0
    else:
        first = next(iter(_jsonl_rows(path)), None)
        names = list(first[1]) if first else []
        empty = first is None
    if empty:
        raise InputError(str(path), "holds no documents", "remove it from the command")
    if "text" not in names:
        found = ", ".join(names) or "nothing"
        raise InputError(
            str(path),
            f"no 'text' column (found: {found})",
            "name the column holding the documents 'text'",
        )


def _is_string(kind: Any) -> bool:
    import pyarrow as pa  # late: pyarrow costs ~0.3 s to import

    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _jsonl_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for n, row in iter_jsonl(path, _WHAT):
        yield f"{path}:{n}", row


def _parquet_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    n = 0
    batches = open_parquet(path).iter_batches(batch_size=_BATCH_ROWS)
    while True:
        try:
            batch = next(batches, None)
        except Exception as exc:  # a damaged row group past a sound footer; pyarrow's types vary
            raise InputError(
                f"{path} after row {n}", f"unreadable Parquet data ({exc})", "write the file again"
            ) from None
        if batch is None:
            return
        for row in batch.to_pylist():
            n += 1
            yield f"{path} row {n}", row


def _to_document(row: dict[str, Any], where: str) -> Document:
    text = row.get("text")
    if not isinstance(text, str):
        raise InputError(
            where,
            f"'text' must be a string, got {type(text).__name__}",
            "give every record its document as a string",
        )
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
        try:
            return int(value)
        except (TypeError, ValueError):
            raise InputError(
                where, f"column 'n_tokens' must be a whole number, got {value!r}", "fix or drop it"
            ) from None
    if key == "truncated":
        return bool(value)
    return (
        str(value)
        if key
        in {"id", "genre", "format", "principle_id", "persona_id", "model", "backend", "created_at"}
        else value
    )
