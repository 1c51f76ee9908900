"""Token-length bounds per genre -> `too_short` / `too_long`.

Bounds come from the corpus spec's genres (genre -> (min, max) tokens); a
genre without bounds uses the config's defaults. Earlier filters may have
trimmed the text, so tokens are recounted here.
"""

from __future__ import annotations

from collections.abc import Mapping

from sdf_corpus.clean.filters.base import KEEP, Filter, Verdict
from sdf_corpus.clean.tokens import TokenCounter
from sdf_corpus.document import Document

__all__ = ["LengthFilter"]


class LengthFilter(Filter):
    name = "length"

    def __init__(
        self,
        counter: TokenCounter,
        genre_lengths: Mapping[str, tuple[int, int]] | None,
        default: tuple[int, int],
    ) -> None:
        self.counter = counter
        self.genre_lengths = dict(genre_lengths or {})
        self.default = default

    def check(self, doc: Document) -> Verdict:
        if doc.quality.get("trimmed"):
            doc.n_tokens = self.counter.count(doc.text)
        low, high = self.genre_lengths.get(doc.genre, self.default)
        if doc.n_tokens < low:
            self.note(doc, n_tokens=doc.n_tokens, min=low)
            return False, "too_short"
        if doc.n_tokens > high:
            self.note(doc, n_tokens=doc.n_tokens, max=high)
            return False, "too_long"
        return KEEP
