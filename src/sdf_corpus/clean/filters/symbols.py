"""Symbol-heavy or non-prose text -> `symbols` (Gopher rules).

Gopher drops documents with more than 0.1 hash/ellipsis symbols per word and
those where fewer than 80% of words contain a letter. Markdown list bullets
("-", "*", "1.") are not counted as words, so a list-heavy blog post is judged
on its words.
"""

from __future__ import annotations

import re

from sdf_corpus.clean.filters.base import KEEP, Filter, Verdict
from sdf_corpus.document import Document

__all__ = ["SymbolsFilter"]

_SYMBOLS = re.compile(r"#|\.\.\.|\u2026")
_BULLET = re.compile(r"^(?:[-*+\u2022>|]|\d+[.)]|#+)$")
_HAS_ALPHA = re.compile(r"[^\W\d_]")


class SymbolsFilter(Filter):
    name = "symbols"

    def __init__(self, max_symbol_word_ratio: float, max_non_alpha_word_frac: float) -> None:
        self.max_symbol_word_ratio = max_symbol_word_ratio
        self.max_non_alpha_word_frac = max_non_alpha_word_frac

    def check(self, doc: Document) -> Verdict:
        tokens = [t for t in doc.text.split() if not _BULLET.match(t)]
        if not tokens:
            self.note(doc, words=0)
            return False, self.name
        # Markdown headings are structure, not noise: drop leading "#" runs first.
        body = re.sub(r"(?m)^#+ ", "", doc.text)
        symbol_ratio = len(_SYMBOLS.findall(body)) / len(tokens)
        non_alpha = sum(1 for t in tokens if not _HAS_ALPHA.search(t)) / len(tokens)
        if symbol_ratio > self.max_symbol_word_ratio or non_alpha > self.max_non_alpha_word_frac:
            self.note(doc, symbol_ratio=round(symbol_ratio, 3), non_alpha_frac=round(non_alpha, 3))
            return False, self.name
        return KEEP
