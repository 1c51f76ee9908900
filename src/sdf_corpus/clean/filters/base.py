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
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from sdf_corpus.document import Document

__all__ = [
    "EN_STOPWORDS",
    "Filter",
    "Verdict",
    "WordIds",
    "can_rewrite",
    "rewrite",
    "word_ids",
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

# Several filters tokenise the same text one after another; a one-entry cache
# keyed on the text object (held here, so its identity cannot be reused) makes
# that one tokenisation per document. A filter that rewrites the text creates
# a new string, which misses the cache.
_words_cache: tuple[str, list[str]] = ("", [])
_ids_cache: tuple[str, WordIds | None] = ("", None)


class WordIds(NamedTuple):
    """`words(text)` as dense integer ids (first occurrence order) and word lengths."""

    ids: npt.NDArray[np.int64]
    lens: npt.NDArray[np.int64]


# ASCII fast path: letters lower-cased, apostrophes kept, every other byte a
# space; a whitespace split then gives `_WORD`'s matches, except that a token
# holding apostrophes ("rock'n'roll", "'tis") is re-split by the regex itself
# (a match never spans a non-letter other than one inner apostrophe).
_WORD_TABLE = bytes(
    (b | 0x20) if chr(b).isalpha() else b if b == ord("'") else 0x20 for b in range(256)
)


def _tokenise(text: str) -> list[str]:
    if not text.isascii():
        return _WORD.findall(text.lower())
    toks = text.encode("ascii").translate(_WORD_TABLE).decode("ascii").split()
    if "'" not in text:
        return toks
    return [w for t in toks for w in (_WORD.findall(t) if "'" in t else (t,))]


def words(text: str) -> list[str]:
    """Lower-cased alphabetic words (apostrophes kept inside words); do not mutate the list."""
    global _words_cache
    if _words_cache[0] is not text:
        _words_cache = (text, _tokenise(text))
    return _words_cache[1]


def word_ids(text: str) -> WordIds:
    """`words(text)` mapped to ids and lengths, shared by the repetition and loop filters."""
    global _ids_cache
    cached = _ids_cache[1]
    if _ids_cache[0] is text and cached is not None:
        return cached
    ws = words(text)
    # dict.fromkeys keeps first-occurrence order; the lookups run in C via map.
    vocab = {w: i for i, w in enumerate(dict.fromkeys(ws))}
    ids = np.fromiter(map(vocab.__getitem__, ws), dtype=np.int64, count=len(ws))
    vocab_lens = np.fromiter(map(len, vocab), dtype=np.int64, count=len(vocab))
    result = WordIds(ids, vocab_lens[ids])
    _ids_cache = (text, result)
    return result


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
