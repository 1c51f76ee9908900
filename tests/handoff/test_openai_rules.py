"""The OpenAI chat fine-tuning rules, case by case, and turn joining."""

from __future__ import annotations

from typing import Any

import pytest

from sdf_corpus.handoff.openai_rules import alternate, example_problem

TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
CALL = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
U = {"role": "user", "content": "Weather?"}
A = {"role": "assistant", "content": "Sunny."}
AC = {"role": "assistant", "content": "", "tool_calls": [CALL]}
T = {"role": "tool", "tool_call_id": "c1", "content": "22C"}

CASES: list[tuple[str, dict[str, Any], str]] = [
    ("plain", {"messages": [U, A]}, ""),
    ("tools", {"messages": [U, AC, T, A], "tools": [TOOL]}, ""),
    ("no assistant", {"messages": [U]}, "no_assistant_turn"),
    ("role", {"messages": [U, {"role": "bot", "content": "x"}]}, "unknown_role"),
    ("not alternating", {"messages": [U, U, A]}, "roles_not_alternating"),
    ("undeclared tool", {"messages": [U, AC, T, A]}, "malformed_tool_call"),
    (
        "bad arguments",
        {
            "messages": [
                U,
                {
                    **AC,
                    "tool_calls": [
                        {**CALL, "function": {"name": "get_weather", "arguments": "[1]"}}
                    ],
                },
                T,
                A,
            ],
            "tools": [TOOL],
        },
        "malformed_tool_call",
    ),
    ("orphan result", {"messages": [U, T, A], "tools": [TOOL]}, "tool_result_without_call"),
    ("unanswered", {"messages": [U, AC], "tools": [TOOL]}, "tool_call_unanswered"),
    ("content type", {"messages": [U, {"role": "assistant", "content": 3}]}, "content_not_string"),
    ("bad tools", {"messages": [U, A], "tools": [{"name": "x"}]}, "malformed_tools"),
]


@pytest.mark.parametrize(("name", "example", "problem"), CASES, ids=[c[0] for c in CASES])
def test_rules(name: str, example: dict[str, Any], problem: str) -> None:
    assert example_problem(example, 10, 100) == problem


def test_token_limit() -> None:
    assert example_problem({"messages": [U, A]}, 101, 100) == "too_many_tokens"


def test_consecutive_turns_are_joined_but_not_across_tool_calls() -> None:
    joined, n = alternate([U, U, A, A])
    assert n == 2 and [m["role"] for m in joined] == ["user", "assistant"]
    assert joined[0]["content"] == "Weather?\n\nWeather?"
    kept, n = alternate([U, AC, A])
    assert n == 0 and len(kept) == 3
