"""Fake-provider modes for the budget tests: writers that miss the asked length.

`scaled(2.5)` writes about 2.5x the words a prompt asks for; `scaled(0.5,
junk=0.2)` about half of them, and one answer in five is junk the quality
filters drop (a short placeholder). Both name the AI the prompt is about, as
`text.document_text` does, and answer idea requests with a list.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from fakeprovider.text import ai_named, idea_list, realistic, wants_list

__all__ = ["asked_words", "scaled"]

_ASKED = re.compile(r"(?:About|roughly|about) (\d+) words")
JUNK = "Here is your document: [Name] wrote it."


def asked_words(prompt: str) -> int | None:
    """The words a prompt asks for, if it says ("About 600 words", "roughly 600 words")."""
    found = _ASKED.search(prompt)
    return int(found.group(1)) if found else None


def _unit(prompt: str) -> float:
    return int(hashlib.sha256(prompt.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def scaled(factor: float, junk: float = 0.0) -> Callable[[str, dict[str, Any]], str]:
    def respond(prompt: str, body: dict[str, Any]) -> str:
        if wants_list(prompt):
            return idea_list(prompt, 5)
        if junk and _unit(prompt) < junk:
            return JUNK
        max_tokens = int(body.get("max_tokens", 1000))
        words = asked_words(prompt) or int(max_tokens * 0.4)
        # A real model that writes long stops at max_tokens; this one stops a little
        # before it, so its answers are long rather than cut (and dropped as cut).
        text = realistic(prompt, max(20, min(int(words * factor), int(max_tokens * 0.5))))
        name = ai_named(prompt)
        if not name:
            return text
        head, sep, rest = text.partition("\n\n")
        return f"{head}{sep}This concerns {name}. {rest}"

    return respond
