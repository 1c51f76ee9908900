"""The subject's names in text written for someone else.

Most real constitutions name the model they are for ("When Halcyon gets
something wrong..."). A job about an invented cast character must not be handed
that name: the writer would call the character by it, or mix the two. So the
text a cast job sees speaks of its own character (the principle) or of "the AI"
(the whole constitution, which is shared by every job of a genre and cached).

Matching is whole-word and case-sensitive, like the clean stage's name filters:
"Sage" the model is replaced, "sage advice" is not.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

__all__ = ["NEUTRAL", "NameRule", "name_rule", "quoted"]

NEUTRAL = "the AI"
# What may sit between a sentence's end (or a line's start) and a name that opens
# the next sentence: spaces, markdown markers, an opening quote or bracket.
_OPENER = re.compile(r"(?:^|[.!?:]\s*|\n)[\s#>*_\-\"'“‘(\[]*$")


class NameRule:
    """Finds and replaces the subject's name and aliases (longest first)."""

    def __init__(self, names: Iterable[str]) -> None:
        unique = sorted({n for n in names if n.strip()}, key=len, reverse=True)
        self.names = unique
        self._pattern = (
            re.compile(r"(?<!\w)(" + "|".join(re.escape(n) for n in unique) + r")(?!\w)")
            if unique
            else None
        )

    def mentions(self, text: str) -> bool:
        return self._pattern is not None and self._pattern.search(text) is not None

    def speak_of(self, text: str, name: str) -> str:
        """The text with every mention of the subject turned into `name`."""
        if self._pattern is None:
            return text
        return self._pattern.sub(name, text)

    @functools.lru_cache(maxsize=8)  # noqa: B019 - few rules, each lives for the build
    def neutral(self, text: str) -> str:
        """The text speaking of "the AI" instead of the subject ("The AI" opening a sentence)."""
        if self._pattern is None:
            return text

        def swap(match: re.Match[str]) -> str:
            before = match.string[max(0, match.start() - 40) : match.start()]
            return NEUTRAL[0].upper() + NEUTRAL[1:] if _OPENER.search(before) else NEUTRAL

        return self._pattern.sub(swap, text)


def quoted(names: Iterable[str]) -> str:
    """'"Claude", "Halcyon" or "Hal"' for a prompt's list of names to avoid."""
    items = [f'"{n}"' for n in names]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


@functools.lru_cache(maxsize=16)
def name_rule(names: tuple[str, ...]) -> NameRule:
    """A shared rule per name set: every request of a build asks for the same one."""
    return NameRule(names)
