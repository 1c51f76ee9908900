"""Diversity measures: distinct-n, repeated openings, stock openings, repeated phrases.

Openings are counted over every document with a size-capped counter; n-gram
measures run on a bounded, deterministic sample of text prefixes, because at
500k documents exact n-gram sets would not fit in memory.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["STOCK_OPENINGS", "OpeningCounter", "distinct_n", "opening_of", "repeated_phrases"]

# Openings that model-written corpora collapse onto; the genre prompts forbid them
# (docs/genres.md) and the report flags them (docs/report.md, "Diversity").
STOCK_OPENINGS = (
    "in a world where",
    "once upon a time",
    "in today's fast-paced world",
    "in today's fast paced world",
    "the sun hung low",
    "in the heart of",
    "in an era of",
    "imagine a world",
    "picture this",
    "have you ever wondered",
)
OPENING_WORDS = 5
_WORD = re.compile(r"[\w']+")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


def _body_start(text: str) -> str:
    """The text from its first line that is not a markdown heading or blank."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return text[text.find(line) :]
    return text


def opening_of(text: str) -> str:
    body = _body_start(text[:2000]).translate(_QUOTES)
    return " ".join(_WORD.findall(body.lower())[:OPENING_WORDS])


def _stock_of(text: str) -> str | None:
    head = " ".join(_body_start(text[:2000]).translate(_QUOTES).lower().split())[:120]
    head = head.lstrip("\"'*_ ")
    for phrase in STOCK_OPENINGS:
        if head.startswith(phrase):
            return phrase
    return None


@dataclass
class OpeningCounter:
    """Counts openings of all documents in bounded memory.

    When the table outgrows `cap`, openings seen once are forgotten (lossy
    counting): a frequent opening is never lost, a rare one may be
    undercounted, and `pruned` records that counts are lower bounds.
    """

    cap: int = 200_000
    counts: Counter[str] = field(default_factory=Counter)
    stock: Counter[str] = field(default_factory=Counter)
    pruned: bool = False

    def add(self, text: str) -> None:
        self.counts[opening_of(text)] += 1
        stock = _stock_of(text)
        if stock:
            self.stock[stock] += 1
        if len(self.counts) > self.cap:
            self.counts = Counter({k: v for k, v in self.counts.items() if v > 1})
            self.pruned = True

    def result(self, total_docs: int, top: int = 15) -> dict[str, Any]:
        repeated = [(o, n) for o, n in self.counts.most_common(top) if n > 1]
        return {
            "top": [
                {
                    "opening": o,
                    "docs": n,
                    "share": _share(n, total_docs),
                    "stock": _stock_of(o) is not None,
                }
                for o, n in repeated
            ],
            "stock": [
                {"phrase": p, "docs": n, "share": _share(n, total_docs)}
                for p, n in self.stock.most_common()
            ],
            "counts_are_lower_bounds": self.pruned,
        }


def _share(n: int, total: int) -> float:
    return round(n / total, 6) if total else 0.0


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _ngram_hashes(words: Sequence[str], n: int) -> np.ndarray:
    # Python's hash of a tuple is stable within one process, which is all a
    # distinct count needs; 64-bit collisions are negligible at this size.
    return np.fromiter(
        (hash(tuple(words[i : i + n])) for i in range(len(words) - n + 1)), dtype=np.int64
    )


def distinct_n(texts: Sequence[str], ns: Sequence[int] = (1, 2, 3)) -> dict[str, float]:
    """Distinct n-grams / total n-grams over the sample, for each n."""
    # One n at a time, one text's words at a time: this bounds peak memory to one
    # n's hashes, at the price of tokenising the (bounded) sample once per n.
    out: dict[str, float] = {}
    for n in ns:
        parts = [_ngram_hashes(w, n) for w in map(_words, texts) if len(w) >= n]
        allh = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
        del parts
        out[f"distinct_{n}"] = round(len(np.unique(allh)) / len(allh), 6) if len(allh) else 0.0
    return out


def _phrase_texts(texts: Sequence[str], wanted: set[int], n: int) -> dict[int, str]:
    phrases: dict[int, str] = {}
    for text in texts:
        words = _words(text)
        for i in range(len(words) - n + 1):
            h = hash(tuple(words[i : i + n]))
            if h in wanted and h not in phrases:
                phrases[h] = " ".join(words[i : i + n])
        if len(phrases) == len(wanted):
            break
    return phrases


def repeated_phrases(
    texts: Sequence[str], n: int = 6, top: int = 15, min_docs: int = 2
) -> list[dict[str, Any]]:
    """The n-grams found in the most documents of the sample (each document counted once)."""
    parts = [np.unique(_ngram_hashes(w, n)) for w in map(_words, texts) if len(w) >= n]
    if not parts:
        return []
    hashes, counts = np.unique(np.concatenate(parts), return_counts=True)
    del parts
    order = np.argsort(-counts, kind="stable")[:top]
    wanted = {int(hashes[i]): int(counts[i]) for i in order if counts[i] >= min_docs}
    phrases = _phrase_texts(texts, set(wanted), n)
    ranked = sorted(wanted.items(), key=lambda kv: (-kv[1], phrases.get(kv[0], "")))
    return [
        {"phrase": phrases.get(h, ""), "docs": c, "share": _share(c, len(texts))} for h, c in ranked
    ]
