"""Require a few English stop words -> `no_stopwords` (Gopher).

Real English prose uses function words; word salad, keyword lists and code do
not. Gopher requires at least two occurrences of: the, be, to, of, and, that,
have, with (counted as occurrences, as datatrove does).
Only applied when the corpus language is English.

A chunk is answered at once from its `word_chunk`: one set lookup per distinct
word, then a count per text in numpy. Building the chunk here is not
extra work: the loop and repetition filters after this one use a selection of it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sdf_corpus.clean.filters.base import KEEP, Filter, Verdict
from sdf_corpus.clean.filters.chunk import word_chunk
from sdf_corpus.document import Document

__all__ = ["StopwordsFilter"]

GOPHER_STOPWORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})


class StopwordsFilter(Filter):
    name = "stopwords"

    def __init__(self, min_stopwords: int = 2) -> None:
        self.min_stopwords = min_stopwords

    def check(self, doc: Document) -> Verdict:
        return self.check_many([doc])[0]

    def check_many(self, docs: Sequence[Document]) -> list[Verdict]:
        chunk = word_chunk([doc.text for doc in docs])
        found = np.bincount(chunk.doc_of()[chunk.among(GOPHER_STOPWORDS)], minlength=len(docs))
        verdicts = [KEEP] * len(docs)
        for i in np.flatnonzero(found < self.min_stopwords).tolist():
            self.note(docs[i], found=int(found[i]))  # the count is only recorded for drops
            verdicts[i] = (False, "no_stopwords")
        return verdicts
