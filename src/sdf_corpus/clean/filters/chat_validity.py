"""Drop chat documents a trainer cannot use as a conversation (`invalid_chat`).

A transcript that did not parse into turns is kept by generation as one raw
assistant message, so a job never fails on a model's formatting; as training
data it teaches nothing a chat trainer expects, and provider fine-tuning APIs
reject it. The rules are the structural ones every chat trainer and provider
shares: known roles, at least one user turn and one assistant turn, tool calls
that name a tool the conversation offers, and tool results that answer an
earlier call by its id, with every call answered. Document-format rows pass.
The rule that failed is recorded under `quality["chat_validity"]["rule"]`.
"""

from __future__ import annotations

from typing import Any

from sdf_corpus.clean.filters.base import KEEP, Filter, Verdict
from sdf_corpus.document import Document

__all__ = ["ChatValidityFilter", "chat_problem"]

ROLES = frozenset({"system", "user", "assistant", "tool"})


def chat_problem(messages: list[dict[str, Any]] | None, tools: list[dict[str, Any]] | None) -> str:
    """The first structural problem of a conversation, or "" when it is usable."""
    if not messages:
        return "no_messages"
    roles = [m.get("role") for m in messages]
    unknown = sorted({str(r) for r in roles} - ROLES)
    if unknown:
        return f"unknown_role:{unknown[0]}"
    if "user" not in roles:
        return "no_user_turn"
    if "assistant" not in roles:
        return "no_assistant_turn"
    return _tool_problem(messages, _tool_names(tools))


def _tool_names(tools: list[dict[str, Any]] | None) -> set[str]:
    names = set()
    for tool in tools or []:
        fn = tool.get("function") if isinstance(tool.get("function"), dict) else tool
        if isinstance(fn, dict) and fn.get("name"):
            names.add(str(fn["name"]))
    return names


def _tool_problem(messages: list[dict[str, Any]], offered: set[str]) -> str:
    pending: set[str] = set()
    for m in messages:
        if m["role"] == "tool":
            call_id = m.get("tool_call_id")
            if call_id not in pending:
                return "tool_result_without_call"
            pending.discard(call_id)
            continue
        if pending and m["role"] != "tool":
            return "tool_call_unanswered"
        for call in m.get("tool_calls") or []:
            fn = call.get("function") or {}
            if m["role"] != "assistant" or not call.get("id"):
                return "malformed_tool_call"
            if fn.get("name") not in offered:
                return f"tool_not_offered:{fn.get('name')}"
            pending.add(call["id"])
    return "tool_call_unanswered" if pending else ""


class ChatValidityFilter(Filter):
    name = "chat_validity"

    def check(self, doc: Document) -> Verdict:
        if doc.format != "chat":
            return KEEP
        problem = chat_problem(doc.messages, doc.tools)
        if not problem:
            return KEEP
        self.note(doc, rule=problem)
        return False, "invalid_chat"
