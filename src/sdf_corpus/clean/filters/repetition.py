"""Gopher repetition rules (Rae et al. 2021, table A1) -> `repetition`.

Repetitive documents are low-value and, in synthetic data, a sign of a
generator going around in circles. Thresholds are Gopher's defaults:
duplicate lines/paragraphs (share of items and of characters), the character
coverage of the most frequent 2/3/4-gram, and the share of characters inside
duplicated 5..10-grams.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from sdf_corpus.clean.config import FilterConfig
from sdf_corpus.clean.filters.base import KEEP, Filter, Verdict, words
from sdf_corpus.document import Document

__all__ = ["RepetitionFilter"]

_PARA = re.compile(r"\n{2,}")


def dup_fractions(items: Sequence[str]) -> tuple[float, float]:
    """(share of items that repeat an earlier one, share of their characters)."""
    seen: set[str] = set()
    dup_items = dup_chars = total_chars = 0
    for item in items:
        total_chars += len(item)
        if item in seen:
            dup_items += 1
            dup_chars += len(item)
        seen.add(item)
    if not items or not total_chars:
        return 0.0, 0.0
    return dup_items / len(items), dup_chars / total_chars


def top_ngram_frac(ws: Sequence[str], n: int, total_chars: int) -> float:
    grams = Counter(tuple(ws[i : i + n]) for i in range(len(ws) - n + 1))
    if not grams or not total_chars:
        return 0.0
    gram, count = grams.most_common(1)[0]
    return sum(len(w) for w in gram) * count / total_chars


def dup_ngram_frac(ws: Sequence[str], n: int, total_chars: int) -> float:
    """Characters covered by n-grams seen before, counted once each (datatrove's rule)."""
    seen: set[tuple[str, ...]] = set()
    covered = [False] * len(ws)
    for i in range(len(ws) - n + 1):
        gram = tuple(ws[i : i + n])
        if gram in seen:
            for j in range(i, i + n):
                covered[j] = True
        else:
            seen.add(gram)
    if not total_chars:
        return 0.0
    return sum(len(w) for w, c in zip(ws, covered, strict=False) if c) / total_chars


class RepetitionFilter(Filter):
    name = "repetition"

    def __init__(self, cfg: FilterConfig) -> None:
        self.cfg = cfg

    def check(self, doc: Document) -> Verdict:
        problem = self._line_problem(doc.text) or self._ngram_problem(words(doc.text))
        if problem is None:
            return KEEP
        self.note(doc, rule=problem[0], value=round(problem[1], 3))
        return False, self.name

    def _line_problem(self, text: str) -> tuple[str, float] | None:
        c = self.cfg
        lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
        paras = [p.strip() for p in _PARA.split(text) if p.strip()]
        for label, items, max_items, max_chars in (
            ("dup_line", lines, c.max_dup_line_frac, c.max_dup_line_char_frac),
            ("dup_para", paras, c.max_dup_para_frac, c.max_dup_para_char_frac),
        ):
            frac, char_frac = dup_fractions(items)
            if frac > max_items:
                return f"{label}_frac", frac
            if char_frac > max_chars:
                return f"{label}_char_frac", char_frac
        return None

    def _ngram_problem(self, ws: list[str]) -> tuple[str, float] | None:
        total = sum(len(w) for w in ws)
        for n, limit in zip((2, 3, 4), self.cfg.max_top_ngram_frac, strict=False):
            value = top_ngram_frac(ws, n, total)
            if value > limit:
                return f"top_{n}gram_frac", value
        for n, limit in zip(range(5, 11), self.cfg.max_dup_ngram_frac, strict=False):
            value = dup_ngram_frac(ws, n, total)
            if value > limit:
                return f"dup_{n}gram_frac", value
        return None
