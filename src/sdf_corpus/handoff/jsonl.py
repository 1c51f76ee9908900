"""The JSONL exports: `text`, `jsonl-messages` and `openai-chat`.

- `text`: `{"text", ...metadata}` for every document of either format; with a
  document prefix, `text` starts with it and `prefix_chars` gives its length so
  a trainer can mask it from the loss.
- `jsonl-messages`: `{"messages", "tools"?, ...metadata}` per chat document, the
  field names TRL, Axolotl and `apply_chat_template` read.
- `openai-chat`: provider fine-tuning lines with only `messages` and `tools`
  (nothing a provider could reject), checked against the published rules; the
  metadata goes line for line into `<name>.metadata.jsonl` beside it.
Document-format rows are skipped by the chat formats and counted: an article
turned into a fake one-turn chat would teach the wrong thing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from sdf_corpus.handoff import openai_rules
from sdf_corpus.handoff.records import metadata

__all__ = ["JsonlOptions", "JsonlTally", "write_jsonl"]


@dataclass(frozen=True)
class JsonlOptions:
    fmt: str
    doc_prefix: str = ""
    max_example_tokens: int = 65_536


@dataclass
class JsonlTally:
    written: int = 0
    tokens: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    turns_joined: int = 0


def _dump(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"


def write_jsonl(
    rows: Iterable[dict[str, Any]], out: IO[str], side: IO[str] | None, opts: JsonlOptions
) -> JsonlTally:
    tally = JsonlTally()
    for row in rows:
        record, reason = _record(row, opts, tally)
        if record is None:
            tally.skipped[reason] += 1
            continue
        if side is not None:
            side.write(_dump(metadata(row)))
        out.write(_dump(record))
        tally.written += 1
        tally.tokens += int(row.get("n_tokens") or 0)
    return tally


def _record(
    row: dict[str, Any], opts: JsonlOptions, tally: JsonlTally
) -> tuple[dict[str, Any] | None, str]:
    if opts.fmt == "text":
        text = opts.doc_prefix + (row.get("text") or "")
        record: dict[str, Any] = {"text": text}
        if opts.doc_prefix:
            record["prefix_chars"] = len(opts.doc_prefix)
        return {**record, **metadata(row)}, ""
    messages = row.get("messages")
    if row.get("format") != "chat" or not messages:
        return None, "document_format"
    if opts.fmt == "jsonl-messages":
        record = {"messages": messages, **({"tools": row["tools"]} if row.get("tools") else {})}
        return {**record, **metadata(row)}, ""
    joined, joins = openai_rules.alternate(messages)
    record = {"messages": joined}
    if row.get("tools"):
        record["tools"] = row["tools"]
    problem = openai_rules.example_problem(
        record, int(row.get("n_tokens") or 0), opts.max_example_tokens
    )
    if problem:
        return None, f"openai_{problem}"
    tally.turns_joined += joins
    return record, ""
