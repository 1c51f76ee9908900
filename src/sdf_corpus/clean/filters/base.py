"""The filter interface, after datatrove's BaseFilter.

A filter answers `(True, None)` to keep a document or `(False, "reason_code")`
to drop it. Filters may rewrite `doc.text` (strip a preamble, trim a cut-off
ending); they record what they measured or changed under `doc.quality[name]`,
and the pipeline copies that record into the rejected row's `detail`.

Chat documents (format "chat") are never rewritten: their text is the joined
message contents, and trimming it would desynchronise it from `messages`. A
filter that would trim a chat document drops it instead, with the same reason.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import Any

from sdf_corpus.document import Document

__all__ = ["EN_STOPWORDS", "Filter", "Verdict", "can_rewrite", "rewrite", "words"]

Verdict = tuple[bool, str | None]

KEEP: Verdict = (True, None)

# Gopher's stop-word rule uses these; also the language pre-screen's evidence.
EN_STOPWORDS = frozenset(
    [
        "the",
        "be",
        "to",
        "of",
        "and",
        "a",
        "in",
        "that",
        "have",
        "i",
        "it",
        "for",
        "not",
        "on",
        "with",
        "he",
        "as",
        "you",
        "do",
        "at",
        "this",
        "but",
        "his",
        "by",
        "from",
        "they",
        "we",
        "say",
        "her",
        "she",
        "or",
        "an",
        "will",
        "my",
        "one",
        "all",
        "would",
        "there",
        "their",
        "what",
        "so",
        "up",
        "out",
        "if",
        "about",
        "who",
        "get",
        "which",
        "go",
        "me",
        "when",
        "make",
        "can",
        "like",
        "time",
        "no",
        "just",
        "him",
        "know",
        "take",
        "is",
        "was",
        "are",
        "were",
        "been",
        "has",
        "had",
        "its",
        "our",
        "your",
        "them",
        "then",
        "than",
        "into",
        "could",
        "should",
    ]
)

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def words(text: str) -> list[str]:
    """Lower-cased alphabetic words (apostrophes kept inside words)."""
    return _WORD.findall(text.lower())


class Filter(ABC):
    name: str = ""

    @abstractmethod
    def check(self, doc: Document) -> Verdict:
        """Keep, or drop with this filter's reason code."""

    def note(self, doc: Document, **values: Any) -> None:
        doc.quality.setdefault(self.name, {}).update(values)


def can_rewrite(doc: Document) -> bool:
    return doc.format != "chat"


def rewrite(doc: Document, filter_name: str, new_text: str, what: str) -> None:
    """Replace the text and record the trim in quality["trimmed"]."""
    removed = len(doc.text) - len(new_text)
    doc.text = new_text
    doc.quality.setdefault("trimmed", []).append(
        {"filter": filter_name, "what": what, "chars_removed": removed}
    )
