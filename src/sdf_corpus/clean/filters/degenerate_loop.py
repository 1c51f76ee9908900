"""Drop generations stuck in a loop -> `degenerate_loop`.

Small models fall into repeating one sentence, line or phrase back to back
("and then she smiled and then she smiled ..."). Whole-document repetition
statistics can miss a loop at the end of an otherwise fine text, so this
looks for consecutive runs: the same sentence or line more than
`max_consecutive_repeats` times in a row, or the same 3-12 word phrase more
than `max_phrase_run` times in a row (a single word: more than 10 times).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from sdf_corpus.clean.filters.base import KEEP, Filter, Verdict
from sdf_corpus.clean.filters.chunk import WordChunk, word_chunk
from sdf_corpus.document import Document

__all__ = ["DegenerateLoopFilter"]

_SENTENCE = re.compile(r"(?<=[.!?\u2026])\s+|\n+")
_SINGLE_WORD_RUN = 10
_MAX_PHRASE = 12


_ASCII_SPACE = tuple(c for c in map(chr, range(128)) if c.isspace() and c != "\n")


def _units(text: str) -> list[str]:
    """Sentences and lines, stripped and lower-cased: `_SENTENCE` splits, done with `str` scans.

    For ASCII text the first whitespace character after ".", "!" or "?" becomes
    a newline, then the text splits on newlines: every cut falls inside one of
    `_SENTENCE`'s separators and the rest of a separator is stripped, so the
    units are the same as the regex split's, at a fraction of its cost.
    """
    if not text.isascii():
        return [u.strip().lower() for u in _SENTENCE.split(text) if u.strip()]
    for space in _ASCII_SPACE:
        if space in text:
            for mark in ".!?":
                text = text.replace(mark + space, mark + "\n")
    # lower() before strip() is the same for ASCII; map/filter keep the loop in C
    return list(filter(None, map(str.strip, text.lower().split("\n"))))


def _longest_equal_run(items: list[str]) -> int:
    best = run = 1 if items else 0
    if len(set(items)) == len(items):
        return best  # nothing repeats (most texts): no pairwise walk
    for prev, cur in itertools.pairwise(items):
        run = run + 1 if cur == prev else 1
        best = max(best, run)
    return best


def _longest_phrase_repeat(ids: npt.NDArray[np.int64], k: int, at_least: int = 0) -> int:
    """How many times some k-word phrase repeats back to back.

    Answers 1 early when fewer than `at_least` positions match the word k later:
    a phrase repeated m times needs (m - 1) * k of them, so no run reaches it.
    """
    if ids.size < 2 * k:
        return 1
    eq = ids[:-k] == ids[k:]
    if at_least and np.count_nonzero(eq) < at_least:
        return 1
    # A phrase repeated m times gives a run of (m - 1) * k equal positions.
    padded = np.concatenate(([0], eq.astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(padded))
    if edges.size == 0:
        return 1
    longest = int((edges[1::2] - edges[::2]).max())
    return longest // k + 1


_GAP = _MAX_PHRASE + 1  # filler between two texts: no lag (or lag + 1) reaches across


def _lag_pairs(chunk: WordChunk) -> npt.NDArray[np.int64]:
    """(texts, _MAX_PHRASE): per text and lag k, how many positions i have both
    word i == word i + k and word i + 1 == word i + 1 + k.

    A k-word phrase repeated m times back to back makes a run of (m - 1) * k
    positions matching the word k later, so at least (m - 1) * k - 1 such pairs;
    prose, whose matches at a lag are scattered function words, has almost none.
    The chunk's texts are laid end to end with `_GAP` filler values between them
    (negative and all distinct, so they match nothing), which turns every lag into
    one comparison over the whole chunk instead of one per text.
    """
    starts = chunk.offsets[:-1] + _GAP * np.arange(len(chunk), dtype=np.int64)
    size = int(chunk.offsets[-1]) + _GAP * len(chunk) + 1  # + 1: every start < len(pairs)
    padded = -1 - np.arange(size, dtype=np.int32)  # ids < 2**31: half the bytes to compare
    padded[chunk.doc_of() * _GAP + np.arange(chunk.ids.size)] = chunk.ids
    out = np.empty((len(chunk), _MAX_PHRASE), dtype=np.int64)
    for k in range(1, _MAX_PHRASE + 1):
        eq = padded[:-k] == padded[k:]
        # a text's segment runs to the next text's start, over its gap (all False)
        out[:, k - 1] = np.add.reduceat(eq[:-1] & eq[1:], starts, dtype=np.int64)
    return out


class DegenerateLoopFilter(Filter):
    name = "degenerate_loop"

    def __init__(self, max_consecutive_repeats: int = 3, max_phrase_run: int = 4) -> None:
        self.max_consecutive_repeats = max_consecutive_repeats
        self.max_phrase_run = max_phrase_run

    def check(self, doc: Document) -> Verdict:
        return self.check_many([doc])[0]

    def check_many(self, docs: Sequence[Document]) -> list[Verdict]:
        verdicts = [KEEP] * len(docs)
        rest: list[int] = []
        for i, doc in enumerate(docs):
            run = _longest_equal_run(_units(doc.text))
            if run > self.max_consecutive_repeats:
                self.note(doc, sentence_run=run)
                verdicts[i] = (False, self.name)
            else:
                rest.append(i)
        if not rest:
            return verdicts
        chunk = word_chunk([docs[i].text for i in rest])
        for j, (k, repeats) in self._phrase_loops(chunk).items():
            self.note(docs[rest[j]], phrase_words=k, phrase_run=repeats)
            verdicts[rest[j]] = (False, self.name)
        return verdicts

    def _phrase_loops(self, chunk: WordChunk) -> dict[int, tuple[int, int]]:
        """Per looping text: the first phrase length k (1..12) repeated back to back
        more than its limit, and how many times."""
        # A k-word phrase repeated more than limit times back to back needs at
        # least limit * k - 1 pairs of neighbouring positions matching the word
        # k later; counting those for every k at once rules out almost every
        # text without a closer look.
        need = np.array([self._limit(k) * k - 1 for k in range(1, _MAX_PHRASE + 1)])
        suspect = _lag_pairs(chunk) >= need
        found: dict[int, tuple[int, int]] = {}
        for j in np.flatnonzero(suspect.any(axis=1)).tolist():
            ids = chunk.ids[chunk.offsets[j] : chunk.offsets[j + 1]]
            for k in np.flatnonzero(suspect[j]).tolist():
                repeats = _longest_phrase_repeat(ids, k + 1)
                if repeats > self._limit(k + 1):
                    found[j] = (k + 1, repeats)
                    break
        return found

    def _limit(self, k: int) -> int:
        # Short phrases repeat legitimately ("ha ha ha", "no, no, no"), so they need longer runs.
        if k == 1:
            return _SINGLE_WORD_RUN
        if k == 2:
            return max(self.max_phrase_run, _SINGLE_WORD_RUN // 2)
        return self.max_phrase_run
