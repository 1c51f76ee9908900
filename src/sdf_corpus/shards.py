"""The shard schema, and the one reader every consumer of a run's shards uses.

Nested values are native Parquet types (see docs/schema.md), so `datasets`,
DuckDB and Polars see a conversation as a list of structs without our code.
Shards written before schema version 2 stored them as JSON text; `iter_rows`
decodes those too, so old runs still export and report, and `check_current`
says how to re-clean a run where a native file is required.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sdf_corpus.errors import InputError

__all__ = [
    "ATTRIBUTES_TYPE",
    "MESSAGES_TYPE",
    "QUALITY_TYPE",
    "SCHEMA_VERSION",
    "SHARD_SCHEMA",
    "check_current",
    "decode_row",
    "iter_rows",
    "run_shards",
]

SCHEMA_VERSION = 2

TOOL_CALL_TYPE = pa.struct(
    [
        ("id", pa.string()),
        ("type", pa.string()),
        # OpenAI's own shape: arguments are a JSON object serialised as a string.
        ("function", pa.struct([("name", pa.string()), ("arguments", pa.string())])),
    ]
)
MESSAGE_TYPE = pa.struct(
    [
        ("role", pa.string()),
        ("content", pa.string()),
        ("tool_calls", pa.list_(TOOL_CALL_TYPE)),
        ("tool_call_id", pa.string()),
        ("name", pa.string()),
    ]
)
MESSAGES_TYPE = pa.list_(MESSAGE_TYPE)
# Attribute keys differ by genre and by user collection, so a struct's fixed
# fields cannot hold them; key/value entries can, and every reader sees them.
ENTRY_TYPE = pa.struct([("key", pa.string()), ("value", pa.string())])
ATTRIBUTES_TYPE = pa.list_(ENTRY_TYPE)
TRIM_TYPE = pa.struct(
    [("filter", pa.string()), ("what", pa.string()), ("chars_removed", pa.int64())]
)
QUALITY_TYPE = pa.struct([("trimmed", pa.list_(TRIM_TYPE)), ("notes", ATTRIBUTES_TYPE)])

SHARD_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("text", pa.string()),
        ("genre", pa.string()),
        ("format", pa.string()),
        ("messages", MESSAGES_TYPE),
        # Tool parameters are free JSON Schema (any depth, any keys): no fixed
        # Parquet type holds them, so `tools` stays the JSON text trainers pass on.
        ("tools", pa.string()),
        ("principle_id", pa.string()),
        ("persona_id", pa.string()),
        ("attributes", ATTRIBUTES_TYPE),
        ("model", pa.string()),
        ("backend", pa.string()),
        ("n_tokens", pa.int64()),
        ("quality", QUALITY_TYPE),
        ("created_at", pa.string()),
    ],
    metadata={b"sdf_corpus_schema": str(SCHEMA_VERSION).encode()},
)

_LEGACY_JSON = ("messages", "attributes", "quality")


def run_shards(run_dir: Path) -> list[Path]:
    """The run's shard files in order, or a one-line error saying how to make them."""
    shards = sorted((Path(run_dir) / "shards").glob("*.parquet"))
    if not shards and (Path(run_dir) / "manifest.json").is_file():
        raise InputError(
            f"{run_dir}: the run kept no documents (see clean_stats.json and rejected/); "
            "nothing to read"
        )
    if not shards:
        raise InputError(
            f"{Path(run_dir) / 'shards'}: no Parquet shards found "
            "(run `sdf-corpus build` or `clean` first)"
        )
    return shards


def is_legacy(schema: pa.Schema) -> bool:
    return "messages" in schema.names and pa.types.is_string(schema.field("messages").type)


def check_current(path: Path) -> None:
    """Fail on a shard written before native columns, naming the way to re-clean it."""
    if is_legacy(_schema(path)):
        run = path.parent.parent
        raise InputError(
            f"{path}: written by an older sdf-corpus (conversations stored as JSON text); "
            f"re-clean the run with `sdf-corpus build SPEC` (it re-reads the ledger, no new "
            f"requests) or `sdf-corpus clean {run}/shards/*.parquet --out NEW_DIR`"
        )


def _schema(path: Path) -> pa.Schema:
    try:
        return pq.read_schema(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from None


def iter_rows(
    paths: Sequence[Path], columns: Sequence[str] | None = None, batch_size: int = 1024
) -> Iterator[dict[str, Any]]:
    """Rows as plain Python values, one column batch in memory at a time.

    Nested columns come back in the shape a Document holds them (attributes and
    quality notes as dicts), whichever schema version wrote the file.
    """
    for path in paths:
        schema = _schema(path)
        present = [c for c in columns if c in schema.names] if columns else None
        legacy = is_legacy(schema)
        file = pq.ParquetFile(path)
        for batch in file.iter_batches(batch_size=batch_size, columns=present):
            for row in batch.to_pylist():
                yield _from_legacy(row) if legacy else decode_row(row)


def decode_row(row: dict[str, Any]) -> dict[str, Any]:
    if "attributes" in row:
        row["attributes"] = entries_to_dict(row["attributes"])
    if "quality" in row:
        row["quality"] = quality_from_native(row["quality"])
    if row.get("tools"):
        row["tools"] = json.loads(row["tools"])
    if row.get("messages"):
        row["messages"] = [message_from_native(m) for m in row["messages"]]
    return row


def _from_legacy(row: dict[str, Any]) -> dict[str, Any]:
    for key in (*_LEGACY_JSON, "tools"):
        if isinstance(row.get(key), str):
            row[key] = json.loads(row[key])
    return row


# ---- Document values <-> native column values --------------------------------


def _scalar_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def dict_to_entries(values: dict[str, Any] | None) -> list[dict[str, str]]:
    """Sorted key/value entries; non-string values as their JSON text ("3", "true")."""
    return [{"key": str(k), "value": _scalar_text(v)} for k, v in sorted((values or {}).items())]


def entries_to_dict(entries: Any) -> dict[str, str]:
    if isinstance(entries, dict):
        return entries
    return {e["key"]: e["value"] for e in entries or []}


def quality_to_native(quality: dict[str, Any]) -> dict[str, Any]:
    notes: dict[str, Any] = {}
    for name, measured in quality.items():
        if name == "trimmed":
            continue
        if isinstance(measured, dict):
            notes.update({f"{name}.{k}": v for k, v in measured.items()})
        else:
            notes[name] = measured
    return {"trimmed": list(quality.get("trimmed") or []), "notes": dict_to_entries(notes)}


def quality_from_native(value: dict[str, Any] | None) -> dict[str, Any]:
    if not value:
        return {}
    out: dict[str, Any] = {}
    if value.get("trimmed"):
        out["trimmed"] = value["trimmed"]
    for key, text in entries_to_dict(value.get("notes")).items():
        name, _, measure = key.partition(".")
        if measure:
            out.setdefault(name, {})[measure] = text
        else:
            out[name] = text
    return out


def message_to_native(message: dict[str, Any]) -> dict[str, Any]:
    calls = message.get("tool_calls")
    return {
        "role": str(message.get("role", "")),
        "content": _content_text(message.get("content")),
        "tool_calls": [_call_to_native(c) for c in calls] if calls else None,
        "tool_call_id": message.get("tool_call_id"),
        "name": message.get("name"),
    }


def _content_text(content: Any) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    return json.dumps(content, ensure_ascii=False)  # structured content parts, kept whole


def _call_to_native(call: dict[str, Any]) -> dict[str, Any]:
    fn = call.get("function") or {}
    args = fn.get("arguments")
    return {
        "id": call.get("id"),
        "type": call.get("type", "function"),
        "function": {"name": fn.get("name"), "arguments": _scalar_text(args or {})},
    }


def message_from_native(message: dict[str, Any]) -> dict[str, Any]:
    """Drop the null fields Parquet fills in, giving back the OpenAI-style dict."""
    return {k: v for k, v in message.items() if v is not None}
