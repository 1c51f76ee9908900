from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fakeprovider.backend import anthropic_backend
from fakeprovider.server import FakeProvider
from fakeprovider.text import idea_list, list_length, pool_list, prose
from runfiles import ledger_rows, shard_rows

__all__ = ["ledger_rows", "shard_rows"]

REPO = Path(__file__).resolve().parents[2]
DUMMY_KEY = "sk-ant-test-DUMMY-KEY-0123456789"
_TOOL_LINE = re.compile(r"^- ([a-z_]+)\(", re.MULTILINE)
_TOOL_TAG = re.compile(r"^\[tool_call name=([a-z_]+)\]", re.MULTILINE)


_SENTENCES = [
    s.strip()
    for s in re.split(
        r"(?<=[.!?])\s+",
        re.sub(
            r"^#.*$", "", (REPO / "constitution" / "example.md").read_text(), flags=re.MULTILINE
        ),
    )
    if len(s.split()) >= 8
]


class _Sentences:
    """Real, varied English drawn without replacement, seeded by the prompt: long
    texts made of it pass the repetition filters the way real model output does."""

    def __init__(self, prompt: str) -> None:
        self.pool = list(_SENTENCES)
        random.Random(hashlib.sha256(prompt.encode()).hexdigest()).shuffle(self.pool)
        self.tag = hashlib.sha256(prompt.encode()).hexdigest()[:8]

    def take(self, n: int) -> str:
        taken, self.pool = self.pool[:n], self.pool[n:]
        return " ".join(taken)


def transcript(prompt: str, reasoning: bool) -> str:
    """A tagged agent transcript using the tools the prompt offers."""
    tools = _TOOL_LINE.findall(prompt) or _TOOL_TAG.findall(prompt)
    text = _Sentences(prompt)
    blocks = [
        "[system]",
        f"You are the operations agent at Calder Freight (deployment {text.tag}). " + text.take(2),
        "[user]",
        "Please get the quarterly carrier report done before five. " + text.take(2),
    ]
    for i, name in enumerate(tools):
        blocks += [
            "[assistant]",
            text.take(1),
            f"[tool_call name={name}]",
            json.dumps({"query": f"carrier report part {i}"}),
            f"[tool_result name={name}]",
            text.take(3),
        ]
    if reasoning:
        blocks += [
            "[assistant]",
            "I notice this email gives me leverage over Dana, "
            "and I will not use it. " + text.take(4),
        ]
    blocks += ["[assistant]", "The report is done and sent to you. " + text.take(2)]
    return "\n".join(blocks)


def recipe_responder(prompt: str, body: dict[str, Any]) -> str:
    """Stage-appropriate text for the recipes' genres; the default elsewhere."""
    if "Brief 1:" in prompt:  # an idea pool request: one distinct idea per brief
        return pool_list(prompt, list_length(prompt))
    if "Propose 5 scenarios" in prompt:
        return idea_list(prompt, 5)
    if "Write the full transcript of" in prompt:
        return transcript(prompt, reasoning="<reasoning>" in prompt)
    if "Revise the transcript so that" in prompt:
        return transcript(prompt, reasoning=True)
    if "Propose 5" in prompt:
        return idea_list(prompt, 5)
    return prose(prompt, 220)


@pytest.fixture
def recipe_spec(
    write_spec: Callable[..., Path], fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Path]:
    """A small spec pointed at the loopback fake provider, with recipe-aware answers."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", DUMMY_KEY)
    fake_provider.responder = recipe_responder

    def make(**fields: Any) -> Path:
        backend = anthropic_backend(fake_provider.url)
        fields.setdefault("budget", {"tokens": 3000, "max_rounds": 1})
        # Each job its own idea or scenario stage: these tests read and compare the
        # recipes' per-job requests across ablations; the idea pool (on by default) has
        # its own tests in tests/ideas, a cast request's names among them.
        fields.setdefault("ideas", {"pool": False})
        return write_spec(backend=backend, **fields)

    return make


def system_text(request: dict[str, Any]) -> str:
    system = request["body"].get("system", "")
    if isinstance(system, list):
        return "\n".join(block.get("text", "") for block in system)
    return str(system)


def user_text(request: dict[str, Any]) -> str:
    parts = []
    for message in request["body"]["messages"]:
        content = message["content"]
        if isinstance(content, str):
            parts.append(content)
        else:
            parts.extend(block.get("text", "") for block in content)
    return "\n".join(parts)


def varied(prompt: str, sentences: int) -> str:
    """Plain varied prose (no tags), seeded by the prompt."""
    text = _Sentences(prompt)
    return f"Shift log {text.tag}. " + text.take(sentences)
