"""Trim or drop generations cut off mid-sentence.

A generation that hit max_tokens (Document.truncated) or whose text ends
without sentence-final punctuation is cut to its last complete sentence when
that keeps at least `min_keep_frac` of the text and `min_keep_chars`
characters; otherwise the document is dropped. A truncated text that happens
to end on a full stop is kept as is.

The rule applies only to text that a generator wrote: documents flagged
`truncated`, or carrying a `backend` (every document of a generation run does).
A user's own text without either is left alone: sound prose often ends in a
list, a code line or a colon, and nothing says it was cut off.
"""

from __future__ import annotations

import re

from sdf_corpus.clean.filters.base import KEEP, Filter, Verdict, can_rewrite, rewrite
from sdf_corpus.document import Document

__all__ = ["TruncatedFilter"]

# Sentence-final punctuation, optionally followed by closing quotes/brackets/emphasis.
_SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]*_]*(?=\s|$)")
# A text "ends cleanly" if its last visible character is one of these.
_CLEAN_END = frozenset(".!?\u2026\"'\u201d\u2019)]*_`~>|")


class TruncatedFilter(Filter):
    name = "truncated"

    def __init__(self, min_keep_frac: float = 0.8, min_keep_chars: int = 200) -> None:
        self.min_keep_frac = min_keep_frac
        self.min_keep_chars = min_keep_chars

    def check(self, doc: Document) -> Verdict:
        if not doc.generated:
            return KEEP  # external text: no evidence that anything was cut off
        text = doc.text.rstrip()
        if not text or text[-1] in _CLEAN_END:
            return KEEP
        cut = self._last_sentence_end(text)
        kept = text[:cut].rstrip()
        frac = len(kept) / len(text)
        self.note(doc, generation_truncated=doc.truncated, keep_frac=round(frac, 3))
        if not can_rewrite(doc) or frac < self.min_keep_frac or len(kept) < self.min_keep_chars:
            return False, self.name
        rewrite(doc, self.name, kept, "incomplete last sentence")
        return KEEP

    @staticmethod
    def _last_sentence_end(text: str) -> int:
        end = 0
        for m in _SENTENCE_END.finditer(text):
            end = m.end()
        return end
