"""Gopher repetition rules (Rae et al. 2021, table A1) -> `repetition`.

Repetitive documents are low-value and, in synthetic data, a sign of a
generator going around in circles. Thresholds are Gopher's defaults:
duplicate lines/paragraphs (share of items and of characters), the character
coverage of the most frequent 2/3/4-gram, and the share of characters inside
duplicated 5..10-grams.

Every share is of the document's characters (`len(text)`, spaces and
punctuation included), as in Gopher and datatrove's GopherRepetitionFilter; a
top n-gram counts its joining spaces. Dividing by letters alone would make the
rules a fifth to a third stricter than published on punctuated text (docstrings,
technical prose), which is how they came to drop sound documentation.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from sdf_corpus.clean.config import FilterConfig
from sdf_corpus.clean.filters.base import KEEP, Filter, Verdict, WordIds, word_ids
from sdf_corpus.document import Document

__all__ = ["RepetitionFilter"]

_PARA = re.compile(r"\n{2,}")
I64 = npt.NDArray[np.int64]


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
    """Char coverage of the most frequent n-gram (ties: the one seen first), readable form."""
    grams = Counter(tuple(ws[i : i + n]) for i in range(len(ws) - n + 1))
    if not grams or not total_chars:
        return 0.0
    gram, count = grams.most_common(1)[0]
    return (sum(len(w) for w in gram) + n - 1) * count / total_chars


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


class _Grams:
    """Word n-grams of one document, grouped exactly, for n = 2, 3, ... in turn.

    Only positions whose (n-1)-gram occurs more than once can start a repeated
    n-gram, so each step regroups just those: the pair (group of the (n-1)-gram,
    next word) is ranked with one `np.unique` over a set that shrinks quickly
    in prose. Groups are exact (no hashing); every other position starts an
    n-gram that occurs once.
    """

    def __init__(self, ids: I64, lens: I64) -> None:
        self.words, self.lens, self.n = ids, lens, 1
        self.vocab = int(ids.max()) + 1 if ids.size else 0
        counts = np.bincount(ids, minlength=self.vocab)
        # Positions in a repeated group, with their group id.
        self.pos = np.flatnonzero(counts[ids] > 1)
        self.group = ids[self.pos]
        self.top_count, self.top_start = 0, 0
        self.dup_starts = np.empty(0, dtype=np.int64)

    @property
    def n_grams(self) -> int:
        return max(self.words.size - self.n + 1, 0)

    def advance(self) -> None:
        """Move to n + 1: top count (ties: first seen) and starts of repeated n-grams."""
        self.n += 1
        keep = self.pos <= self.words.size - self.n  # an n-gram starts here
        pos = self.pos[keep]
        key = self.group[keep] * self.vocab + self.words[pos + self.n - 1]
        # Group equal keys with one stable sort (np.unique's work without its
        # overhead, which dominates on arrays this small). `pos` is ascending
        # within every group, so a stable sort keeps each group's first
        # occurrence first.
        order = np.argsort(key, kind="stable")
        sorted_key, pos = key[order], pos[order]
        new = np.empty(sorted_key.size, dtype=bool)
        new[:1] = True
        np.not_equal(sorted_key[1:], sorted_key[:-1], out=new[1:])
        starts = np.flatnonzero(new)
        counts = np.empty_like(starts)
        np.subtract(starts[1:], starts[:-1], out=counts[:-1])
        counts[-1:] = sorted_key.size - starts[-1:]
        # Every n-gram not regrouped here occurs once; with all counts 1 the
        # first n-gram of the text is the most common (Counter keeps insertion order).
        self.top_count, self.top_start = (1, 0) if self.n_grams else (0, 0)
        if counts.size and (top := int(counts.max())) > 1:
            self.top_count, self.top_start = top, int(pos[starts[counts == top]].min())
        self.dup_starts = pos[~new]
        group = np.cumsum(new) - 1
        repeated = counts[group] > 1
        self.pos, self.group = pos[repeated], group[repeated]

    def top_frac(self, total_chars: int) -> float:
        """Same value as `top_ngram_frac` for the current n."""
        if not self.top_count or not total_chars:
            return 0.0
        chars = int(self.lens[self.top_start : self.top_start + self.n].sum()) + self.n - 1
        return chars * self.top_count / total_chars

    def dup_frac(self, total_chars: int) -> float:
        """Same value as `dup_ngram_frac` for the current n."""
        starts = self.dup_starts
        if not total_chars or not starts.size:
            return 0.0
        size = self.words.size + 1
        edges = np.bincount(starts, minlength=size) - np.bincount(starts + self.n, minlength=size)
        covered = np.cumsum(edges[:-1]) > 0
        return int(self.lens[covered].sum()) / total_chars


class RepetitionFilter(Filter):
    name = "repetition"

    def __init__(self, cfg: FilterConfig) -> None:
        self.cfg = cfg

    def check(self, doc: Document) -> Verdict:
        problem = self._line_problem(doc.text) or self._ngram_problem(
            word_ids(doc.text), len(doc.text)
        )
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

    def _ngram_problem(self, wid: WordIds, total: int) -> tuple[str, float] | None:
        grams = _Grams(wid.ids, wid.lens)
        for n in range(2, 11):
            grams.advance()
            if not grams.top_count or (n > 4 and not grams.pos.size and not grams.dup_starts.size):
                return None  # nothing repeats at this n, so nothing longer can: all values 0
            if n <= 4:
                value = grams.top_frac(total)
                limit = self.cfg.max_top_ngram_frac[n - 2]
                rule = f"top_{n}gram_frac"
            else:
                value = grams.dup_frac(total)
                limit = self.cfg.max_dup_ngram_frac[n - 5]
                rule = f"dup_{n}gram_frac"
            if value > limit:
                return rule, value
            # Characters in duplicated (n+1)-grams are a subset of those in
            # duplicated n-grams, so once the value is within every remaining
            # limit, no longer n-gram can exceed its own.
            if n >= 5 and value <= min(self.cfg.max_dup_ngram_frac[n - 4 :], default=1.0):
                return None
        return None
