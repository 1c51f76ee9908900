"""The rules providers publish for chat fine-tuning files, checked line by line.

OpenAI's chat fine-tuning format (Together and most OpenAI-compatible services
accept the same): each line is `{"messages": [...], "tools"?: [...]}`; roles
are system, developer, user, assistant or tool; content is a string (an
assistant turn that only calls tools may leave it empty); a tool call is
`{"id", "type": "function", "function": {"name", "arguments": "<JSON object>"}}`
naming a declared tool (`^[A-Za-z0-9_-]{1,64}$`); a tool message answers an
earlier call by `tool_call_id`; there is at least one assistant turn, and the
example fits the model's per-example token limit (65,536 for the current
fine-tunable models). A file holds at most 512 MB and at least 10 examples.

Turns are alternated before checking: consecutive user turns, or assistant
turns with no tool call between them, are joined into one (a transcript that
narrates in two paragraphs is still one turn to a trainer).
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = [
    "MAX_FILE_BYTES",
    "MIN_EXAMPLES",
    "ROLES",
    "alternate",
    "example_problem",
]

ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
MAX_FILE_BYTES = 512 * 1024 * 1024
MIN_EXAMPLES = 10
_FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def alternate(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Join consecutive same-role user/assistant turns; returns (messages, joins made)."""
    out: list[dict[str, Any]] = []
    joins = 0
    for m in messages:
        last = out[-1] if out else None
        if (
            last is not None
            and m["role"] == last["role"]
            and m["role"] in ("user", "assistant")
            and not last.get("tool_calls")
        ):
            merged = dict(last)
            merged["content"] = "\n\n".join(p for p in (last["content"], m["content"]) if p)
            if m.get("tool_calls"):
                merged["tool_calls"] = m["tool_calls"]
            out[-1] = merged
            joins += 1
            continue
        out.append(dict(m))
    return out, joins


def example_problem(example: dict[str, Any], n_tokens: int, max_tokens: int) -> str:
    """The first published rule the example breaks, or "" when it is valid."""
    messages = example.get("messages")
    if not isinstance(messages, list) or not messages:
        return "no_messages"
    tools = _declared(example.get("tools"))
    if tools is None:
        return "malformed_tools"
    for previous, message in zip([None, *messages], messages, strict=False):
        problem = _message_problem(message, previous)
        if problem:
            return problem
    problem = _calls_problem(messages, tools)
    if problem:
        return problem
    if not any(m["role"] == "assistant" for m in messages):
        return "no_assistant_turn"
    if n_tokens > max_tokens:
        return "too_many_tokens"
    return ""


def _declared(tools: Any) -> set[str] | None:
    if tools is None:
        return set()
    if not isinstance(tools, list):
        return None
    names = set()
    for tool in tools:
        fn = tool.get("function") if isinstance(tool, dict) else None
        if tool.get("type") != "function" or not isinstance(fn, dict):
            return None
        if not _FUNCTION_NAME.match(str(fn.get("name", ""))):
            return None
        names.add(fn["name"])
    return names


def _message_problem(message: Any, previous: Any) -> str:
    if not isinstance(message, dict) or message.get("role") not in ROLES:
        return "unknown_role"
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        return "content_not_string"
    if not content and not message.get("tool_calls"):
        return "empty_content"
    if previous is not None and previous["role"] == message["role"] != "tool":
        return "roles_not_alternating"
    return ""


def _calls_problem(messages: list[dict[str, Any]], tools: set[str]) -> str:
    pending: set[str] = set()
    for m in messages:
        if m["role"] == "tool":
            if m.get("tool_call_id") not in pending:
                return "tool_result_without_call"
            pending.discard(m["tool_call_id"])
            continue
        if pending:
            return "tool_call_unanswered"
        for call in m.get("tool_calls") or []:
            if m["role"] != "assistant" or not _call_ok(call, tools):
                return "malformed_tool_call"
            pending.add(call["id"])
    return "tool_call_unanswered" if pending else ""


def _call_ok(call: Any, tools: set[str]) -> bool:
    if not isinstance(call, dict) or call.get("type") != "function" or not call.get("id"):
        return False
    fn = call.get("function")
    if not isinstance(fn, dict) or fn.get("name") not in tools:
        return False
    try:
        return isinstance(json.loads(fn.get("arguments", "")), dict)
    except (TypeError, ValueError):
        return False
