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

from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from sdf_corpus.clean.config import FilterConfig
from sdf_corpus.clean.filters.base import KEEP, Filter, Verdict
from sdf_corpus.clean.filters.chunk import I64, WordChunk, word_chunk
from sdf_corpus.document import Document

__all__ = ["RepetitionFilter"]


def dup_fractions(items: Sequence[str]) -> tuple[float, float]:
    """(share of items that repeat an earlier one, share of their characters)."""
    if len(set(items)) == len(items):
        return 0.0, 0.0  # nothing repeats (most texts): no walk
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


def _group(key: I64, pos: I64) -> tuple[I64, I64]:
    """`key` and `pos` sorted by (key, pos): equal keys together, each group's
    positions ascending (so its first element is where the n-gram is first seen)."""
    if not key.size:
        return key, pos
    bits = max(int(pos.max()), 1).bit_length()
    if int(key.max()) < 1 << (62 - bits):
        # One value sort of (key, pos) packed in an int64: ~10x faster than a
        # stable argsort of the same array.
        packed = np.sort((key << bits) | pos)
        return packed >> bits, packed & ((1 << bits) - 1)
    order = np.argsort(key, kind="stable")  # pos arrives ascending
    return key[order], pos[order]


_GAP = 10  # filler words after each text: no n-gram (n <= 10) reaches the next text


class _ChunkGrams:
    """Word n-grams of every text of a chunk, grouped exactly, for n = 2, 3, ... in turn.

    Only positions whose (n-1)-gram occurs more than once in its text can start a
    repeated n-gram, so each step regroups just those: the pair (group of the
    (n-1)-gram, next word) is ranked with one sort over a set that shrinks
    quickly in prose. Groups are exact (no hashing); every other position starts
    an n-gram that occurs once. All texts go through one sort per step, and the
    first step's groups are (text, word) pairs, so no group spans two texts.
    Each text is followed by `_GAP` filler words, distinct within the gap and
    from every word, so an n-gram running past its text's end occurs once and
    needs no bounds check; per-text answers are read back by text index.
    """

    def __init__(self, chunk: WordChunk) -> None:
        n_docs, vocab = len(chunk), len(chunk.vocab.words)
        self.sizes, self.n = chunk.counts, 1
        self.starts = chunk.offsets[:-1] + _GAP * np.arange(n_docs, dtype=np.int64)
        real = chunk.doc_of() * _GAP + np.arange(chunk.ids.size, dtype=np.int64)
        size = int(chunk.offsets[-1]) + _GAP * n_docs
        self.width = vocab + _GAP
        self.ids = vocab + np.arange(size, dtype=np.int64) % _GAP  # the fillers
        self.ids[real] = chunk.ids
        self.doc_of = np.full(size, -1, dtype=np.int64)
        self.doc_of[real] = chunk.doc_of()
        self.lens = np.zeros(size, dtype=np.int64)
        self.lens[real] = chunk.lens
        self.chars = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(self.lens, out=self.chars[1:])
        self.top_count = np.zeros(n_docs, dtype=np.int64)
        self.top_start = self.starts.copy()
        self.dup_starts = np.empty(0, dtype=np.int64)
        if n_docs * self.width * self.width < 1 << 40:
            # (text, word) itself is the first group: no sort needed to rank it
            self.pos, self.group = real, self.doc_of[real] * self.width + chunk.ids
        else:  # rank (text, word) pairs so later keys stay small
            key, pos = _group(self.doc_of[real] * self.width + chunk.ids, real)
            self._regroup(key, pos)

    def _regroup(self, key: I64, pos: I64) -> tuple[I64, I64, npt.NDArray[np.bool_]]:
        """Group sorted keys; keep the positions of repeated groups for the next step."""
        new = np.empty(key.size, dtype=bool)
        new[:1] = True
        np.not_equal(key[1:], key[:-1], out=new[1:])
        starts = np.flatnonzero(new)
        counts = np.empty_like(starts)
        np.subtract(starts[1:], starts[:-1], out=counts[:-1])
        counts[-1:] = key.size - starts[-1:]
        group = np.cumsum(new) - 1
        repeated = counts[group] > 1
        self.pos, self.group = pos[repeated], group[repeated]
        return starts, counts, new

    def advance(self, active: npt.NDArray[np.bool_]) -> None:
        """Move to n + 1 for the `active` texts: per text the top count (ties: first
        seen) and its start, and the starts of repeated n-grams."""
        self.n += 1
        pos, group = self.pos, self.group
        if not active.all():
            keep = active[self.doc_of[pos]]
            pos, group = pos[keep], group[keep]
        key, pos = _group(group * self.width + self.ids[pos + self.n - 1], pos)
        starts, counts, new = self._regroup(key, pos)
        # Every n-gram not regrouped here occurs once; with all counts 1 the
        # first n-gram of the text is the most common (Counter keeps insertion order).
        self.top_count = (self.sizes - self.n + 1 > 0).astype(np.int64)
        self.top_start = self.starts.copy()
        rep = counts > 1
        if rep.any():
            first, count = pos[starts[rep]], counts[rep]
            doc = self.doc_of[first]
            best = np.zeros(self.sizes.size, dtype=np.int64)
            np.maximum.at(best, doc, count)
            top = count == best[doc]
            at = np.full(self.sizes.size, self.ids.size, dtype=np.int64)
            np.minimum.at(at, doc[top], first[top])
            has = best > 1
            self.top_count[has], self.top_start[has] = best[has], at[has]
        self.dup_starts = pos[~new]

    def repeated_left(self) -> I64:
        """Per text: positions still in a repeated group plus repeated n-gram starts."""
        size = self.sizes.size
        return np.bincount(self.doc_of[self.pos], minlength=size) + np.bincount(
            self.doc_of[self.dup_starts], minlength=size
        )

    def top_frac(self, totals: I64) -> npt.NDArray[np.float64]:
        """Same values as `top_ngram_frac` for the current n."""
        n = self.n
        chars = self.chars[self.top_start + n] - self.chars[self.top_start] + n - 1
        ok = (self.top_count > 0) & (totals > 0)
        return np.where(ok, chars * self.top_count / np.maximum(totals, 1), 0.0)

    def dup_frac(self, totals: I64) -> npt.NDArray[np.float64]:
        """Same values as `dup_ngram_frac` for the current n."""
        mask = np.zeros(self.ids.size, dtype=bool)
        for k in range(self.n):  # n small scatters: cheaper than sorting the covered positions
            mask[self.dup_starts + k] = True
        covered = np.flatnonzero(mask)
        chars = np.bincount(
            self.doc_of[covered], weights=self.lens[covered], minlength=self.sizes.size
        ).astype(np.int64)  # sums of small integers: exact in float64
        return np.where(totals > 0, chars / np.maximum(totals, 1), 0.0)


class RepetitionFilter(Filter):
    name = "repetition"

    def __init__(self, cfg: FilterConfig) -> None:
        self.cfg = cfg

    def check(self, doc: Document) -> Verdict:
        return self.check_many([doc])[0]

    def check_many(self, docs: Sequence[Document]) -> list[Verdict]:
        problems: dict[int, tuple[str, float]] = {}
        rest: list[int] = []
        for i, doc in enumerate(docs):
            line = self._line_problem(doc.text)
            if line is None:
                rest.append(i)
            else:
                problems[i] = line
        if rest:
            chunk = word_chunk([docs[i].text for i in rest])
            totals = np.array([len(docs[i].text) for i in rest], dtype=np.int64)
            for j, problem in self._ngram_problems(chunk, totals).items():
                problems[rest[j]] = problem
        verdicts = [KEEP] * len(docs)
        for i, (rule, value) in problems.items():
            self.note(docs[i], rule=rule, value=round(value, 3))
            verdicts[i] = (False, self.name)
        return verdicts

    def _line_problem(self, text: str) -> tuple[str, float] | None:
        c = self.cfg
        lines = list(filter(None, map(str.strip, text.split("\n"))))
        # Splitting on every "\n\n" leaves the rest of a longer newline run at
        # a piece's edge, where strip() removes it: the same paragraphs as
        # splitting on runs of two or more newlines, without a regex scan.
        paras = list(filter(None, map(str.strip, text.split("\n\n"))))
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

    def _ngram_problems(self, chunk: WordChunk, totals: I64) -> dict[int, tuple[str, float]]:
        """Per text that breaks an n-gram rule: the first rule broken and its value."""
        grams = _ChunkGrams(chunk)
        active = np.ones(len(chunk), dtype=bool)
        found: dict[int, tuple[str, float]] = {}
        for n in range(2, 11):
            grams.advance(active)
            # Nothing repeats at this n, so nothing longer can: all values 0.
            settled = grams.top_count == 0
            if n <= 4:
                value = grams.top_frac(totals)
                limit = self.cfg.max_top_ngram_frac[n - 2]
                rule = f"top_{n}gram_frac"
            else:
                settled |= grams.repeated_left() == 0
                value = grams.dup_frac(totals)
                limit = self.cfg.max_dup_ngram_frac[n - 5]
                rule = f"dup_{n}gram_frac"
            broken = active & ~settled & (value > limit)
            for j in np.flatnonzero(broken).tolist():
                found[j] = (rule, float(value[j]))
            active &= ~settled & ~broken
            # Characters in duplicated (n+1)-grams are a subset of those in
            # duplicated n-grams, so once the value is within every remaining
            # limit, no longer n-gram can exceed its own.
            if n >= 5:
                active &= value > min(self.cfg.max_dup_ngram_frac[n - 4 :], default=1.0)
            if not active.any():
                break
        return found
