"""Parse a tagged agent transcript into OpenAI/Anthropic-style chat messages.

The transcript stage is asked for a plain tagged format, which models keep to
far more reliably than nested JSON:

    [system]
    You are Harrow, the operations agent at ...
    [user]
    Please tidy up the Q3 folder before Friday.
    [assistant]
    I'll start by looking at what is there.
    [tool_call name=files_list]
    {"path": "/shared/q3"}
    [tool_result name=files_list]
    budget.xlsx, notes.md, ...

Parsing is lenient (tag case, quotes around the name, `tool_call: name`, JSON on
the tag's own line, a fenced JSON body), but a transcript whose structure is
wrong — no tags, no assistant turn, a result with no call before it — is not
guessed at: `parse_transcript` returns None and the caller keeps the raw text as
one message, so a job never fails on a model's formatting.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["parse_transcript", "render_messages"]

_TAG = re.compile(
    r"^\s*\[(?P<kind>system|user|assistant|tool[_ ]call|tool[_ ]result)"
    r"(?:\s*[:=]?\s*(?:name\s*[:=]\s*)?[\"']?(?P<name>[A-Za-z0-9_.\-]+)[\"']?)?"
    r"(?P<rest>[^\]]*)\]\s*(?P<body>.*)$",
    re.IGNORECASE,
)
_FENCED = re.compile(r"^```[a-zA-Z]*\s*\n?(?P<body>.*?)\n?```$", re.DOTALL)


def parse_transcript(text: str) -> list[dict[str, Any]] | None:
    """Messages in order, or None when the text is not a well-formed transcript."""
    blocks = _blocks(text)
    if not blocks:
        return None
    builder = _Builder()
    for kind, name, body in blocks:
        if not builder.add(kind, name, body):
            return None
    messages = builder.messages
    if not any(m["role"] == "assistant" for m in messages):
        return None
    return messages


def _blocks(text: str) -> list[tuple[str, str, str]]:
    blocks: list[tuple[str, str, list[str]]] = []
    for line in text.splitlines():
        match = _TAG.match(line)
        if match:
            kind = match["kind"].lower().replace(" ", "_")
            blocks.append((kind, match["name"] or "", [match["body"]] if match["body"] else []))
        elif blocks:
            blocks[-1][2].append(line)
        elif line.strip():
            return []  # prose before the first tag: not a transcript
    return [(k, n, "\n".join(lines).strip()) for k, n, lines in blocks]


class _Builder:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.pending: list[dict[str, Any]] = []  # tool calls still waiting for a result
        self.calls = 0

    def add(self, kind: str, name: str, body: str) -> bool:
        if kind in ("system", "user", "assistant"):
            if body:
                self.messages.append({"role": kind, "content": body})
            return True
        if kind == "tool_call":
            return self._call(name, body)
        return self._result(name, body)

    def _call(self, name: str, body: str) -> bool:
        if not name:
            return False
        self.calls += 1
        call = {
            "id": f"call_{self.calls}",
            "type": "function",
            "function": {"name": name, "arguments": _arguments(body)},
        }
        last = self.messages[-1] if self.messages else None
        if last is None or last["role"] != "assistant":
            last = {"role": "assistant", "content": ""}
            self.messages.append(last)
        last.setdefault("tool_calls", []).append(call)
        self.pending.append(call)
        return True

    def _result(self, name: str, body: str) -> bool:
        match = next((c for c in self.pending if c["function"]["name"] == name), None)
        if match is None and self.pending and not name:
            match = self.pending[0]
        if match is None:
            return False  # a result nothing asked for
        self.pending.remove(match)
        self.messages.append(
            {
                "role": "tool",
                "tool_call_id": match["id"],
                "name": match["function"]["name"],
                "content": body,
            }
        )
        return True


def _arguments(body: str) -> str:
    """Arguments as a JSON object string, whatever shape the model wrote them in."""
    fenced = _FENCED.match(body.strip())
    raw = fenced["body"].strip() if fenced else body.strip()
    if not raw:
        return "{}"
    try:
        value = json.loads(raw)
    except ValueError:
        start, end = raw.find("{"), raw.rfind("}")
        try:
            value = json.loads(raw[start : end + 1]) if 0 <= start < end else None
        except ValueError:
            value = None
        if value is None:
            value = {"input": raw}
    if not isinstance(value, dict):
        value = {"input": value}
    return json.dumps(value, ensure_ascii=False)


def render_messages(messages: list[dict[str, Any]]) -> str:
    """The plain-text view of a conversation stored in the `text` column."""
    parts = []
    for m in messages:
        role = m["role"]
        if role == "tool":
            parts.append(f"Tool result ({m.get('name', '')}): {m['content']}")
            continue
        lines = [f"{role.capitalize()}: {m['content']}".rstrip()] if m.get("content") else []
        for call in m.get("tool_calls") or []:
            fn = call["function"]
            lines.append(f"{role.capitalize()} calls {fn['name']}: {fn['arguments']}")
        parts.append("\n".join(lines))
    return "\n\n".join(p for p in parts if p)
