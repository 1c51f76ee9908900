"""The chat validity filter: one table of conversations and the rule each breaks."""

from __future__ import annotations

from typing import Any

import pytest

from sdf_corpus.clean.filters.chat_validity import ChatValidityFilter
from sdf_corpus.document import Document

TOOLS = [{"type": "function", "function": {"name": "files_list", "parameters": {}}}]


def _call(call_id: str, name: str = "files_list") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": "{}"}}


USER = {"role": "user", "content": "Tidy the Q3 folder."}
SAID = {"role": "assistant", "content": "Done."}
CALLS = {"role": "assistant", "content": "", "tool_calls": [_call("c1")]}
RESULT = {"role": "tool", "tool_call_id": "c1", "name": "files_list", "content": "a.md"}

CASES: list[tuple[str, list[dict[str, Any]] | None, str | None]] = [
    ("advice", [USER, SAID], None),
    ("agentic", [{"role": "system", "content": "ops"}, USER, CALLS, RESULT, SAID], None),
    (
        "unparsed transcript",
        [{"role": "assistant", "content": "[sys tem] garbled"}],
        "no_user_turn",
    ),
    ("no answer", [USER], "no_assistant_turn"),
    ("empty", None, "no_messages"),
    ("odd role", [USER, {"role": "narrator", "content": "x"}, SAID], "unknown_role:narrator"),
    (
        "tool not offered",
        [USER, {**CALLS, "tool_calls": [_call("c1", "shell")]}, RESULT, SAID],
        "tool_not_offered:shell",
    ),
    ("result without call", [USER, RESULT, SAID], "tool_result_without_call"),
    ("call never answered", [USER, CALLS, SAID], "tool_call_unanswered"),
]


@pytest.mark.parametrize(("name", "messages", "rule"), CASES, ids=[c[0] for c in CASES])
def test_rules(name: str, messages: list[dict[str, Any]] | None, rule: str | None) -> None:
    doc = Document(id=name, text="x", format="chat", messages=messages, tools=TOOLS)
    keep, reason = ChatValidityFilter().check(doc)
    if rule is None:
        assert keep and reason is None
    else:
        assert (keep, reason) == (False, "invalid_chat")
        assert doc.quality["chat_validity"] == {"rule": rule}


def test_documents_pass_untouched() -> None:
    doc = Document(id="d", text="An essay.", format="document")
    assert ChatValidityFilter().check(doc) == (True, None)
    assert doc.quality == {}
