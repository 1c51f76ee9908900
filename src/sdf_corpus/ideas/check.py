"""Keeping a cell's ideas apart: exact repeats (normalised) and ideas too close in meaning.

Every idea is embedded once (`sdf_corpus.embed`, L2-normalised, so a dot product is the
cosine) and compared with every idea the cell holds, including those kept earlier in the
same answer. Ideas are short and explicit (who, where, what happens), so this check is the
pool's strong one; the clean stage's semantic step checks the finished documents again.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from sdf_corpus.embed import DIM, Embedder
from sdf_corpus.store.ideas import IdeaRow

__all__ = ["CellIdeas", "normalise"]

_NON_WORD = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    """Case, accents, punctuation and spacing folded: what makes two ideas "the same text"."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", folded).strip()


class CellIdeas:
    """The ideas one cell holds, and the verdict on each new one."""

    def __init__(
        self, held: Sequence[tuple[str, str]], embedder: Embedder, threshold: float
    ) -> None:
        self.embedder, self.threshold = embedder, threshold
        self.refs = [ref for ref, _ in held]
        self.texts = [text for _, text in held]
        self.norms = {normalise(text): ref for ref, text in held}
        first = embedder.embed(self.texts) if held else np.zeros((0, DIM), dtype=np.float32)
        # A buffer that doubles: one copy per doubling, not one per kept idea.
        self._buffer = np.zeros((max(64, 2 * len(first)), DIM), dtype=np.float32)
        self._buffer[: len(first)] = first

    @property
    def vectors(self) -> npt.NDArray[np.float32]:
        return self._buffer[: len(self.refs)]

    def check(
        self,
        ref: str,
        item: int,
        job_id: str,
        text: str | None,
        vector: npt.NDArray[np.float32] | None,
    ) -> IdeaRow:
        """The verdict on one idea (None: the answer gave none for this brief); a kept
        idea joins the cell at once, so two briefs of one answer cannot keep the same."""
        if not text or vector is None:
            return IdeaRow(item, job_id, "", "missing")
        norm = normalise(text)
        if norm in self.norms:
            return IdeaRow(item, job_id, text, "duplicate", self.norms[norm], 1.0)
        if self.refs:
            cosines = self.vectors @ vector
            nearest = int(np.argmax(cosines))
            cosine = float(cosines[nearest])
            if cosine >= self.threshold:
                return IdeaRow(item, job_id, text, "too_close", self.refs[nearest], cosine)
        if len(self.refs) == len(self._buffer):
            self._buffer = np.concatenate([self._buffer, np.zeros_like(self._buffer)])
        self._buffer[len(self.refs)] = vector
        self.refs.append(ref)
        self.texts.append(text)
        self.norms[norm] = ref
        return IdeaRow(item, job_id, text, "kept")

    def steering(self, near: Sequence[str], limit: int) -> list[str]:
        """Texts to show as taken: those the re-asked briefs came too close to, then the
        newest, at most `limit`."""
        if limit <= 0:
            return []
        index = {ref: i for i, ref in enumerate(self.refs)}
        chosen = list(dict.fromkeys(index[r] for r in near if r in index))[:limit]
        for i in range(len(self.refs) - 1, -1, -1):
            if len(chosen) >= limit:
                break
            if i not in chosen:
                chosen.append(i)
        return [self.texts[i] for i in chosen]
