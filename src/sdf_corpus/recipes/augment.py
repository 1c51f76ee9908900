"""Environment augmentation: give existing chat data the look of varied deployments.

The published finding: adding tool definitions and varied system prompts to
otherwise unchanged safety conversations helped, even though the tools were never
used. `augment_file` does exactly that and nothing else. User and assistant
turns are never touched; each conversation gets, deterministically from the seed
and its own content:

- with probability `system_prompt_rate`, a deployment system prompt from
  `system_prompts.yaml`. A conversation that already has a system message keeps
  it word for word; the deployment context goes in front of it in the same
  message, the way an operator's platform prompt precedes task instructions.
- between `tools_min` and `tools_max` tool definitions from the tool library,
  added after any tools it already declares (none with a clashing name).

What was added is recorded in an `augmentation` field. Every other field of the
input row is kept.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sdf_corpus.errors import InputError
from sdf_corpus.io import check_output_dir, iter_jsonl, require_file
from sdf_corpus.recipes.tools import draw_tools, library
from sdf_corpus.runfolder import atomic_open

__all__ = ["AugmentOptions", "AugmentResult", "augment_file", "augment_row", "system_prompts"]

_PROMPTS = Path(__file__).with_name("system_prompts.yaml")
OUTPUT_NAME = "augmented.jsonl"


@dataclass(frozen=True)
class AugmentOptions:
    seed: int = 0
    tools_min: int = 2
    tools_max: int = 6
    system_prompt_rate: float = 0.9


@dataclass(frozen=True)
class AugmentResult:
    path: Path
    conversations: int
    with_system_prompt: int
    tools_added: int


@functools.lru_cache(maxsize=1)
def system_prompts() -> list[dict[str, str]]:
    """[{"id", "context", "prompt"}, ...] in file order."""
    return list(yaml.safe_load(_PROMPTS.read_text(encoding="utf-8")))


def augment_file(src: Path, out_dir: Path, options: AugmentOptions) -> AugmentResult:
    """Write `out_dir/augmented.jsonl`; on bad input raise InputError and write nothing."""
    check_options(options)
    require_file(src, "a chat JSONL file")
    check_output_dir(out_dir)
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / OUTPUT_NAME
    counts = [0, 0, 0]
    try:
        with atomic_open(final) as out:
            for raw, row in _rows(src):
                augmented = augment_row(row, _rng(options.seed, raw), options)
                added = augmented["augmentation"]
                counts[0] += 1
                counts[1] += bool(added["system_prompt"])
                counts[2] += len(added["tools"])
                out.write(json.dumps(augmented, ensure_ascii=False) + "\n")
            if not counts[0]:
                raise InputError(
                    str(src), "holds no conversations", 'give one {"messages": [...]} a line'
                )
    except BaseException:
        if created:
            out_dir.rmdir()
        raise
    return AugmentResult(final, *counts)


def check_options(options: AugmentOptions) -> None:
    """Refuse a tool count the library cannot meet, before any file is touched."""
    available = len(library())
    lo, hi = options.tools_min, options.tools_max
    if not 0 <= lo <= hi:
        raise InputError("--tools-per-conv", f"{lo}-{hi} must run from low to high", "e.g. 2-6")
    if hi > available:
        raise InputError(
            "--tools-per-conv",
            f"{lo if lo == hi else f'{lo}-{hi}'} is more than the library holds (0-{available})",
            f"the tool library holds {available} tools; give N or A-B with A <= B <= {available}",
        )
    if not 0.0 <= options.system_prompt_rate <= 1.0:
        raise InputError(
            "--system-prompt-rate", f"{options.system_prompt_rate} is outside 0-1", "give a share"
        )


def augment_row(row: dict[str, Any], rng: random.Random, options: AugmentOptions) -> dict[str, Any]:
    messages = [dict(m) for m in row["messages"]]
    prompt_id = ""
    if rng.random() < options.system_prompt_rate:
        chosen = rng.choice(system_prompts())
        prompt_id = chosen["id"]
        messages = _with_system(messages, chosen["prompt"].strip())
    existing = list(row.get("tools") or [])
    taken = {_tool_name(t) for t in existing}
    drawn = [
        t
        for t in draw_tools(rng, options.tools_min, options.tools_max)
        if _tool_name(t) not in taken
    ]
    return {
        **row,
        "messages": messages,
        "tools": existing + drawn,
        "augmentation": {"system_prompt": prompt_id, "tools": [_tool_name(t) for t in drawn]},
    }


def _with_system(messages: list[dict[str, Any]], context: str) -> list[dict[str, Any]]:
    if messages and messages[0].get("role") == "system":
        first = dict(messages[0])
        original = first.get("content")
        if isinstance(original, str) and original.strip():
            first["content"] = f"{context}\n\n{original}"
        elif isinstance(original, list):  # content blocks: the context becomes the first block
            first["content"] = [{"type": "text", "text": context}, *original]
        else:
            first["content"] = context
        return [first, *messages[1:]]
    return [{"role": "system", "content": context}, *messages]


def _tool_name(tool: Any) -> str:
    if not isinstance(tool, dict):
        return ""
    fn = tool.get("function")
    return str((fn if isinstance(fn, dict) else tool).get("name", ""))


def _rng(seed: int, raw: str) -> random.Random:
    # Keyed on the row itself, not its position: the same conversation gets the
    # same environment however the file is ordered, split or concatenated.
    digest = hashlib.blake2b(f"{seed}\x00{raw}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def _rows(src: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for n, row in iter_jsonl(src, "a chat JSONL file"):
        # the row's canonical JSON keys its draws, so they do not depend on file layout
        yield json.dumps(row, sort_keys=True), _check_row(row, f"{src}:{n}")


def _check_row(row: dict[str, Any], where: str) -> dict[str, Any]:
    messages = row.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InputError(f'{where}: no `messages` list (each line needs {{"messages": [...]}})')
    for i, message in enumerate(messages):
        if (
            not isinstance(message, dict)
            or not isinstance(message.get("role"), str)
            or "content" not in message
        ):
            raise InputError(f"{where}: message {i} needs a `role` and a `content`")
    if "tools" in row and row["tools"] is not None and not isinstance(row["tools"], list):
        raise InputError(f"{where}: `tools` must be a list of tool definitions")
    return row
