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

import numpy as np
import numpy.typing as npt

from sdf_corpus.clean.filters.base import KEEP, Filter, Verdict, words
from sdf_corpus.document import Document

__all__ = ["DegenerateLoopFilter"]

_SENTENCE = re.compile(r"(?<=[.!?\u2026])\s+|\n+")
_SINGLE_WORD_RUN = 10


def _longest_equal_run(items: list[str]) -> int:
    best = run = 1 if items else 0
    for prev, cur in itertools.pairwise(items):
        run = run + 1 if cur == prev else 1
        best = max(best, run)
    return best


def _longest_phrase_repeat(ids: npt.NDArray[np.int64], k: int) -> int:
    """How many times some k-word phrase repeats back to back."""
    if ids.size < 2 * k:
        return 1
    eq = ids[:-k] == ids[k:]
    # A phrase repeated m times gives a run of (m - 1) * k equal positions.
    padded = np.concatenate(([0], eq.astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(padded))
    if edges.size == 0:
        return 1
    longest = int((edges[1::2] - edges[::2]).max())
    return longest // k + 1


class DegenerateLoopFilter(Filter):
    name = "degenerate_loop"

    def __init__(self, max_consecutive_repeats: int = 3, max_phrase_run: int = 4) -> None:
        self.max_consecutive_repeats = max_consecutive_repeats
        self.max_phrase_run = max_phrase_run

    def check(self, doc: Document) -> Verdict:
        units = [s.strip().lower() for s in _SENTENCE.split(doc.text) if s.strip()]
        run = _longest_equal_run(units)
        if run > self.max_consecutive_repeats:
            self.note(doc, sentence_run=run)
            return False, self.name
        ws = words(doc.text)
        vocab: dict[str, int] = {}
        ids = np.fromiter(
            (vocab.setdefault(w, len(vocab)) for w in ws), dtype=np.int64, count=len(ws)
        )
        for k in range(1, 13):
            repeats = _longest_phrase_repeat(ids, k)
            if repeats > self._limit(k):
                self.note(doc, phrase_words=k, phrase_run=repeats)
                return False, self.name
        return KEEP

    def _limit(self, k: int) -> int:
        # Short phrases repeat legitimately ("ha ha ha", "no, no, no"), so they need longer runs.
        if k == 1:
            return _SINGLE_WORD_RUN
        if k == 2:
            return max(self.max_phrase_run, _SINGLE_WORD_RUN // 2)
        return self.max_phrase_run
