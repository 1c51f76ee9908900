"""Require a few English stop words -> `no_stopwords` (Gopher).

Real English prose uses function words; word salad, keyword lists and code do
not. Gopher requires at least two occurrences of: the, be, to, of, and, that,
have, with (counted as occurrences, as datatrove does).
Only applied when the corpus language is English.
"""

from __future__ import annotations

from sdf_corpus.clean.filters.base import KEEP, Filter, Verdict, words
from sdf_corpus.document import Document

__all__ = ["StopwordsFilter"]

GOPHER_STOPWORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})


class StopwordsFilter(Filter):
    name = "stopwords"

    def __init__(self, min_stopwords: int = 2) -> None:
        self.min_stopwords = min_stopwords

    def check(self, doc: Document) -> Verdict:
        found = 0
        for w in words(doc.text):
            if w in GOPHER_STOPWORDS:
                found += 1
                if found >= self.min_stopwords:
                    return KEEP  # the count is only recorded for drops
        if found >= self.min_stopwords:  # min_stopwords = 0
            return KEEP
        self.note(doc, found=found)
        return False, "no_stopwords"
