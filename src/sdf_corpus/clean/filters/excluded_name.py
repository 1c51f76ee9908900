"""Drop documents naming a model the corpus must not name (default: "Claude").

Training a character under the trained model's own name changed behaviour for
the worse, so the name must not leak in. Matching is whole-word and case-
sensitive on the first letter ("Claude", "CLAUDE" match; "claude" in a URL or
"Claudette" do not) to spare ordinary words that happen to contain the name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sdf_corpus.clean.filters.base import KEEP, Filter, Verdict
from sdf_corpus.document import Document

__all__ = ["ExcludedNameFilter"]


class ExcludedNameFilter(Filter):
    name = "excluded_name"

    def __init__(self, names: Sequence[str]) -> None:
        alternatives = []
        self._literals: list[str] = []
        for n in names:
            if n:
                alternatives.append(re.escape(n))
                alternatives.append(re.escape(n.upper()))
                self._literals += [n, n.upper()]
        self._pattern = (
            re.compile(r"(?<!\w)(" + "|".join(alternatives) + r")(?!\w)") if alternatives else None
        )

    def check(self, doc: Document) -> Verdict:
        if self._pattern is None or not any(n in doc.text for n in self._literals):
            return KEEP  # the substring scan settles almost every text
        m = self._pattern.search(doc.text)
        if m is None:
            return KEEP
        self.note(doc, name=m.group(1), offset=m.start())
        return False, self.name
