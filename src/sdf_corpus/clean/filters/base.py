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
from collections.abc import Sequence
from typing import Any

from sdf_corpus.document import Document

__all__ = [
    "EN_STOPWORDS",
    "Filter",
    "Verdict",
    "can_rewrite",
    "rewrite",
    "word_bytes",
    "words",
]

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

# ASCII fast path: letters lower-cased, apostrophes kept, every other byte a
# space; a whitespace split then gives `_WORD`'s matches unless an apostrophe is
# left ("rock'n'roll", "'tis"), and then `_ASCII_WORD` (the same pattern for
# this alphabet) scans the mapped text in one C-level pass.
_WORD_TABLE = bytes(
    (b | 0x20) if chr(b).isalpha() else b if b == ord("'") else 0x20 for b in range(256)
)
_ASCII_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def words(text: str) -> list[str]:
    """Lower-cased alphabetic words (apostrophes kept inside words). The filters get
    the same words for a whole chunk from `chunk.WordChunk`, cut from `word_bytes`."""
    if not text.isascii():
        return _WORD.findall(text.lower())
    mapped = text.encode("ascii").translate(_WORD_TABLE).decode("ascii")
    return _ASCII_WORD.findall(mapped) if "'" in mapped else mapped.split()


def word_bytes(text: str) -> bytes:
    """`words(text)` as UTF-8 bytes, each word between spaces (one or more; no word
    holds a space, nor does a multi-byte UTF-8 character). For ASCII text without
    an apostrophe this is the fast path's mapped text itself: no Python string per
    word, so a chunk of texts can be cut into words by numpy (`chunk.WordChunk`)."""
    if text.isascii():
        mapped = text.encode("ascii").translate(_WORD_TABLE)
        if b"'" not in mapped:
            return mapped
    return " ".join(words(text)).encode("utf-8")


class Filter(ABC):
    name: str = ""

    @abstractmethod
    def check(self, doc: Document) -> Verdict:
        """Keep, or drop with this filter's reason code."""

    def check_many(self, docs: Sequence[Document]) -> list[Verdict]:
        """`check` of each document, in order. Filters whose per-document cost is
        mostly fixed overhead answer a whole chunk at once instead."""
        return [self.check(doc) for doc in docs]

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
