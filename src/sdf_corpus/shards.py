"""The shard schema, and the conversions between Document values and its columns.

Nested values are native Parquet types (see docs/schema.md), so `datasets`,
DuckDB and Polars see a conversation as a list of structs without our code.
Reading shards (in their one order, by columns) is `sdf_corpus.runfolder.rows`.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

__all__ = [
    "ATTRIBUTES_TYPE",
    "MESSAGES_TYPE",
    "QUALITY_TYPE",
    "SCHEMA_VERSION",
    "SHARD_SCHEMA",
    "STAGE_MODELS_TYPE",
    "decode_row",
]

SCHEMA_VERSION = 3

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
# Which model wrote each stage of a generated document, in chain order (schema 3).
STAGE_MODELS_TYPE = pa.list_(pa.struct([("stage", pa.string()), ("model", pa.string())]))

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
        ("stage_models", STAGE_MODELS_TYPE),
        ("n_tokens", pa.int64()),
        ("quality", QUALITY_TYPE),
        ("created_at", pa.string()),
    ],
    metadata={b"sdf_corpus_schema": str(SCHEMA_VERSION).encode()},
)


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
