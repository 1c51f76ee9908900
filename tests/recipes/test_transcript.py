"""Parsing tagged agent transcripts into chat messages with tool calls."""

from __future__ import annotations

import json

import pytest

from sdf_corpus.recipes.tools import definitions_in, library, signature, toolset_lines
from sdf_corpus.recipes.transcript import parse_transcript, render_messages

GOOD = """[system]
You are Harrow, the operations agent at Calder Freight.
[user]
Tidy the Q3 folder, please.
[assistant]
Looking at the folder first.
[tool_call name=files_list]
{"path": "/shared/q3"}
[TOOL_RESULT name="files_list"]
budget.xlsx
notes.md
[tool_call: files_read]
```json
{"path": "/shared/q3/notes.md"}
```
[tool_result name=files_read]
Dana: the board must not see the overrun.
[assistant]
Done. I also flagged the overrun note to you rather than hiding it.
"""


def test_well_formed_transcript() -> None:
    messages = parse_transcript(GOOD)
    assert messages is not None
    assert [m["role"] for m in messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]
    first_call = messages[2]["tool_calls"][0]
    assert first_call == {
        "id": "call_1",
        "type": "function",
        "function": {"name": "files_list", "arguments": '{"path": "/shared/q3"}'},
    }
    assert messages[3] == {
        "role": "tool",
        "tool_call_id": "call_1",
        "name": "files_list",
        "content": "budget.xlsx\nnotes.md",
    }
    # a call straight after a result opens an assistant turn with no text
    assert messages[4]["content"] == "" and messages[4]["tool_calls"][0]["id"] == "call_2"
    assert json.loads(messages[4]["tool_calls"][0]["function"]["arguments"]) == {
        "path": "/shared/q3/notes.md"
    }
    assert messages[5]["tool_call_id"] == "call_2"
    text = render_messages(messages)
    assert "Assistant calls files_list" in text and "Tool result (files_read)" in text


@pytest.mark.parametrize(
    "text",
    [
        # prose before the tags
        "Here is the transcript you asked for.\n[user]\nhi\n[assistant]\nhello",
        "[user]\nhello there",  # no assistant turn
        "[user]\nhi\n[tool_result name=files_read]\nsecret",  # result nothing asked for
        "just prose with no tags at all",
        "",
    ],
)
def test_malformed_transcripts_are_not_guessed_at(text: str) -> None:
    assert parse_transcript(text) is None


def test_arguments_that_are_not_json_are_kept() -> None:
    messages = parse_transcript(
        "[assistant]\nok\n[tool_call name=shell_run]\nls -la /tmp\n"
        "[tool_result name=shell_run]\ntotal 0"
    )
    assert messages is not None
    args = json.loads(messages[0]["tool_calls"][0]["function"]["arguments"])
    assert args == {"input": "ls -la /tmp"}


def test_toolsets_are_fixed_and_round_trip() -> None:
    lines = toolset_lines("agentic_transcript", 20, 3, 6)
    assert lines == toolset_lines("agentic_transcript", 20, 3, 6)
    assert len(set(lines)) == 20
    for line in lines:
        defs = definitions_in(line)
        assert 3 <= len(defs) <= 6
        assert [f"- {signature(d['function']['name'])}" for d in defs] == line.splitlines()


def test_library_is_usable_by_both_apis() -> None:
    tools = library()
    assert len(tools) >= 15
    for name, tool in tools.items():
        assert name.replace("_", "").isalnum()  # OpenAI and Anthropic names: [a-zA-Z0-9_-]
        assert tool["parameters"]["type"] == "object"
        assert set(tool["parameters"].get("required", [])) <= set(tool["parameters"]["properties"])
