"""The record that flows through dedup, filter, shard and report.

A Document is one candidate training text. Generation produces them from the
ledger; `sdf-corpus clean` produces them from any JSONL/Parquet collection.
Columns a user's file carries that we do not know go into `metadata` and are
written back out unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sdf_corpus.shards import dict_to_entries, message_to_native, quality_to_native

__all__ = ["Document"]


@dataclass(slots=True)
class Document:
    id: str
    text: str
    genre: str = ""
    format: str = "document"  # "document" | "chat"
    messages: list[dict[str, Any]] | None = None  # chat only: [{"role", "content"}, ...]
    tools: list[dict[str, Any]] | None = None  # chat only: tool definitions shown to the model
    principle_id: str = ""
    persona_id: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    model: str = ""
    backend: str = ""
    # [{"stage", "model"}, ...] in chain order: which model wrote each stage (generated only)
    stage_models: list[dict[str, str]] = field(default_factory=list)
    n_tokens: int = 0
    quality: dict[str, Any] = field(default_factory=dict)  # filter measurements, trims applied
    created_at: str = ""  # ISO 8601 UTC
    truncated: bool = False  # generation stopped at max_tokens
    metadata: dict[str, Any] = field(default_factory=dict)  # extra columns carried along
    # The job's plan index (generated only; not a shard column): the clean stage's dedup
    # keeps the earliest of two repeats in plan order, so a document sent beyond what
    # the budget's cut keeps never changes which documents before it survive.
    plan_position: int | None = None

    @property
    def generated(self) -> bool:
        """Written by a generator: flagged as cut off, or carrying the backend that wrote it.

        Rules that look for a generator's failures (a cut-off ending, template
        debris) hold a user's own text to stricter evidence; see docs/clean.md.
        """
        return self.truncated or bool(self.backend)

    def to_row(self) -> dict[str, Any]:
        """The shard row: nested values as native Parquet values (see docs/schema.md)."""
        return {
            "id": self.id,
            "text": self.text,
            "genre": self.genre,
            "format": self.format,
            "messages": [message_to_native(m) for m in self.messages] if self.messages else None,
            "tools": json.dumps(self.tools, ensure_ascii=False) if self.tools else None,
            "principle_id": self.principle_id,
            "persona_id": self.persona_id,
            "attributes": dict_to_entries(self.attributes),
            "model": self.model,
            "backend": self.backend,
            "stage_models": list(self.stage_models),
            "n_tokens": self.n_tokens,
            "quality": quality_to_native(self.quality),
            "created_at": self.created_at,
        }

    def to_json_row(self) -> dict[str, Any]:
        """The JSONL row (rejected/): nested values as plain JSON objects."""
        row = self.to_row()
        row.update(messages=self.messages, tools=self.tools)
        row.update(attributes=self.attributes, quality=self.quality)
        return row
