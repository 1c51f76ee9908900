"""The tool library: function definitions an AI agent may be given.

Agentic transcripts get a toolset per job. A genre's `tools:` block is expanded,
when the genre loads, into an attribute whose values are toolsets written as a
readable list, one tool a line (`- email_send(to, subject, body, cc?): Send an email ...`).
The planner draws one per job from the job's seed like any other attribute, so
the prompt shows the model exactly the tools the stored document will carry, and
the same seed always gives the same tools. `definitions_in` turns the drawn list
back into the JSON-schema definitions stored in the Document's `tools` column.
"""

from __future__ import annotations

import functools
import random
import re
from pathlib import Path
from typing import Any

import yaml

__all__ = ["definitions_in", "draw_tools", "library", "signature", "toolset_lines"]

_LIBRARY = Path(__file__).with_name("tools.yaml")
_NAME_IN_LIST = re.compile(r"^- ([A-Za-z][A-Za-z0-9_-]*)\(", re.MULTILINE)


@functools.lru_cache(maxsize=1)
def library() -> dict[str, dict[str, Any]]:
    """Tool name -> {"name", "description", "parameters"} in library order."""
    raw = yaml.safe_load(_LIBRARY.read_text(encoding="utf-8"))
    return {item["name"]: dict(item) for item in raw}


def as_function(tool: dict[str, Any]) -> dict[str, Any]:
    """The OpenAI-style wrapper most chat templates expect in a `tools` list."""
    return {"type": "function", "function": tool}


def signature(name: str) -> str:
    """`email_send(to, subject, body, cc?): Send an email ...`: optional args end in `?`."""
    tool = library()[name]
    params = tool.get("parameters", {})
    required = set(params.get("required", []))
    args = [p if p in required else f"{p}?" for p in params.get("properties", {})]
    return f"{name}({', '.join(args)}): {tool['description']}"


def toolset_lines(
    key: str, count: int, lo: int, hi: int, pool: list[str] | None = None
) -> list[str]:
    """`count` distinct toolsets of lo..hi tools each, fixed for `key` (the genre name)."""
    names = [n for n in library() if not pool or any(n.startswith(p) for p in pool)]
    if not names:
        raise ValueError(f"no tools in the library match {pool}")
    rng = random.Random(f"toolsets:{key}")
    seen: dict[str, None] = {}
    for _ in range(count * 20):
        if len(seen) >= count:
            break
        picked = sorted(rng.sample(names, min(len(names), rng.randint(lo, hi))), key=names.index)
        seen.setdefault("\n".join(f"- {signature(n)}" for n in picked))
    return list(seen)


def definitions_in(toolset: str) -> list[dict[str, Any]]:
    """The function definitions named in a toolset list; unknown names are skipped."""
    lib = library()
    return [as_function(lib[n]) for n in _NAME_IN_LIST.findall(toolset) if n in lib]


def draw_tools(rng: random.Random, lo: int, hi: int) -> list[dict[str, Any]]:
    names = list(library())
    count = rng.randint(max(0, lo), min(hi, len(names)))
    return [as_function(library()[n]) for n in sorted(rng.sample(names, count), key=names.index)]
