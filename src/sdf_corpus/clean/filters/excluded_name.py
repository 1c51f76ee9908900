"""Drop documents naming a model the corpus must not name (default: "Claude").

Training a character under another model's name teaches the wrong persona, and
a real product's name does not belong in the corpus at all. Matching is
whole-word and case-sensitive on the first letter ("Claude", "CLAUDE" match;
"claude" in a URL or "Claudette" do not) to spare ordinary words that happen to
contain the name. The corpus's own subject is never excluded here, even when
its name is also listed in `excluded_names` (a user training "Claude" keeps its
name in documents about it); where the subject's name must not appear, in a
document about a cast character, the `subject_name` filter drops it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sdf_corpus.clean.filters.base import KEEP, Filter, Verdict
from sdf_corpus.document import Document

__all__ = ["ExcludedNameFilter", "NameMatcher"]


class NameMatcher:
    """Whole-word search for any of a set of names (each also in capitals)."""

    def __init__(self, names: Sequence[str]) -> None:
        alternatives = []
        self._literals: list[str] = []
        for n in dict.fromkeys(n for n in names if n):
            alternatives += [re.escape(n), re.escape(n.upper())]
            self._literals += [n, n.upper()]
        # Longest first, so "Hal" never wins over "Halcyon" at the same place.
        alternatives.sort(key=len, reverse=True)
        self._pattern = (
            re.compile(r"(?<!\w)(" + "|".join(alternatives) + r")(?!\w)") if alternatives else None
        )

    def search(self, text: str) -> re.Match[str] | None:
        if self._pattern is None or not any(n in text for n in self._literals):
            return None  # the substring scan settles almost every text
        return self._pattern.search(text)


class ExcludedNameFilter(Filter):
    name = "excluded_name"

    def __init__(self, names: Sequence[str], subject_names: Sequence[str] = ()) -> None:
        subject = {n.casefold() for n in subject_names}
        self.names = [n for n in names if n and n.casefold() not in subject]
        self._matcher = NameMatcher(self.names)

    def check(self, doc: Document) -> Verdict:
        m = self._matcher.search(doc.text)
        if m is None:
            return KEEP
        self.note(doc, name=m.group(1), offset=m.start())
        return False, self.name
