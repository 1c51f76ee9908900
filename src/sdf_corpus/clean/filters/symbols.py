"""Symbol-heavy or non-prose text -> `symbols` (Gopher rules).

Gopher drops documents with more than 0.1 hash/ellipsis symbols per word and
those where fewer than 80% of words contain a letter. Markdown list bullets
("-", "*", "1.") are not counted as words, so a list-heavy blog post is judged
on its words.
"""

from __future__ import annotations

import re

from sdf_corpus.clean.filters.base import KEEP, Filter, Verdict
from sdf_corpus.clean.tokens import count_runs
from sdf_corpus.document import Document

__all__ = ["SymbolsFilter"]

_BULLET = re.compile(r"^(?:[-*+\u2022>|]|\d+[.)]|#+)$")
_BULLET_START = frozenset("-*+\u2022>|#0123456789")
_HAS_ALPHA = re.compile(r"[^\W\d_]")
_HEADING = re.compile(r"(?m)^#+ ")
# ASCII fast path: whitespace tokens are counted as the places where a
# non-space follows a space (after mapping whitespace to " " and everything else
# to "a"), so no token string is made. For "tokens with a letter", the bytes
# that are neither letters nor whitespace are deleted first, so a letter-free
# token vanishes. Bullets hold no letter, so only a text with a letter-free
# token needs its tokens made.
_SPACE_OR_A = bytes(0x20 if chr(b).isspace() else 0x61 for b in range(256))
_NON_LETTERS = bytes(b for b in range(128) if not (chr(b).isalpha() or chr(b).isspace()))


def _token_counts(text: str) -> tuple[int, int, int]:
    """(whitespace tokens, bullet tokens, tokens containing a letter)."""
    if text.isascii():
        raw = text.encode("ascii")
        total = count_runs(raw.translate(_SPACE_OR_A))
        with_letter = count_runs(raw.translate(_SPACE_OR_A, _NON_LETTERS))
        if total == with_letter:
            return total, 0, with_letter  # a bullet holds no letter
        bullets = sum(1 for t in text.split() if t[0] in _BULLET_START and _BULLET.match(t))
        return total, bullets, with_letter
    tokens = text.split()
    bullets = sum(
        1 for t in tokens if (t[0] in _BULLET_START or t[0].isdecimal()) and _BULLET.match(t)
    )
    with_letter = sum(1 for t in tokens if _HAS_ALPHA.search(t))
    return len(tokens), bullets, with_letter


class SymbolsFilter(Filter):
    name = "symbols"

    def __init__(self, max_symbol_word_ratio: float, max_non_alpha_word_frac: float) -> None:
        self.max_symbol_word_ratio = max_symbol_word_ratio
        self.max_non_alpha_word_frac = max_non_alpha_word_frac

    def check(self, doc: Document) -> Verdict:
        text = doc.text
        total, bullets, with_letter = _token_counts(text)
        n_tokens = total - bullets  # bullets are structure, not words
        if not n_tokens:
            self.note(doc, words=0)
            return False, self.name
        # Markdown headings are structure, not noise: drop leading "#" runs first.
        body = _HEADING.sub("", text) if "#" in text else text
        symbols = body.count("#") + body.count("...") + body.count("\u2026")
        symbol_ratio = symbols / n_tokens
        non_alpha = (total - with_letter - bullets) / n_tokens  # bullets hold no letter
        if symbol_ratio > self.max_symbol_word_ratio or non_alpha > self.max_non_alpha_word_frac:
            self.note(doc, symbol_ratio=round(symbol_ratio, 3), non_alpha_frac=round(non_alpha, 3))
            return False, self.name
        return KEEP
