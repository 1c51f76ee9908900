"""The fake provider's "retold plots" mode: a provider that keeps telling the same stories.

Real models at temperature 1 answer near-identical idea prompts with the same few ideas,
and then write each one up in fresh words. This responder does both, deterministically:

- an idea list (any request that asks for a numbered list: the idea stage, a pool's list
  request) gets one idea per item asked for; with probability `share` an item offers one
  of six SHARED plots (`plots.SHARED`), otherwise a plot of its own;
- any other request re-tells the plot of the text it works from (the `<draft>` a rewrite
  revises, a chat's `<reply>`, the `<outline>` or `<idea>` a draft is written from, a
  chat's `<message>`), in the genre's shape (`tellings.py`), at about the length asked
  for, with new names and new sentences: MinHash sees two different texts, an embedder
  sees one story.

Nothing in a text marks its plot. The plot of every answer is kept in `RetoldLog`, which
tests read (`provider.retold()` returns it); a text's plot is found by the answers it
contains (`plot_of`). Every answer is seeded by its request, so a re-sent request gets
the same answer (resume and batch tests rely on that).

How hard this is for a semantic dedup step (`python benchmarks/retold_separation.py`:
700-word tellings of 26 plots in the blog, story and chat shapes, wordllama 256):
- plain `embed`: tellings of one plot cosine median 0.61-0.92 (min 0.36); different plots
  median 0.29-0.41, up to 0.67-0.70 where two plots share a trade or a place. The issue's
  real prose: retellings median 0.63 (0.33-0.89), same-setting stories up to 0.56;
- name-free word vectors (`clean/semantic_words.py`): tellings >= 0.90, different plots
  median 0.53-0.58, at most 0.75; distinct-word overlap (Jaccard) tellings >= 0.60,
  different plots median 0.26-0.33, at most 0.48. For scale, 700-word pieces of different
  files of this repository's docs: cosine median 0.57 (max 0.80), overlap median 0.17.
"""

from __future__ import annotations

import hashlib
import random
import re
import threading
from dataclasses import dataclass
from typing import Any

from fakeprovider.plots import Plot, find_plot, new_plot, shared_plot
from fakeprovider.tellings import idea_item, telling
from fakeprovider.text import ai_named, block_texts, wants_list

__all__ = ["Retold", "RetoldLog", "Told"]

# What a document request re-tells: the first of these tags the prompt carries. A prompt
# with none of them that asks for a numbered list is an idea list.
_SOURCES = ("draft", "transcript", "reply", "outline", "plan", "scenario", "idea", "message")
_GENRE = re.compile(r'<genre name="([^"]+)">')
_STYLES = ("blog", "news", "forum", "faq", "encyclopedia", "story", "reflection", "chat")
_WORDS = re.compile(r"(?i)\b(?:about|roughly|at most)\s+(\d{2,5})\s+words")
# An idea pool's request names its AI once, or per brief (a cast genre).
_POOL_AI = re.compile(r"The AI in every piece is ([^(\n]+?) \(")
_BRIEF_AI = re.compile(r"Brief (\d+):\n(?:- [^\n]*\n)*?- AI character: ([^(\n]+?) \(")
_ITEMS = (
    re.compile(r"(?i)numbered list from 1 to (\d{1,3})"),
    re.compile(r"(?i)\b(\d{1,3}) (?:ideas|questions|plans)\b"),
)


@dataclass(frozen=True)
class Told:
    """One answer: `plots` has one plot id per idea item, or the document's one plot."""

    kind: str  # "ideas" | "document"
    style: str
    ai: str  # the AI the text is about ("" when the prompt did not say)
    prompt: str
    source: str  # the text a document re-told ("" for idea lists)
    plots: tuple[str, ...]
    text: str


class RetoldLog:
    """Every answer the mode gave, in order; thread-safe (the server answers on its own
    thread, tests read from theirs)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._told: list[Told] = []

    def add(self, told: Told) -> None:
        with self._lock:
            self._told.append(told)

    @property
    def told(self) -> list[Told]:
        with self._lock:
            return list(self._told)

    def idea_lists(self) -> list[Told]:
        return [t for t in self.told if t.kind == "ideas"]

    def documents(self) -> list[Told]:
        return [t for t in self.told if t.kind == "document"]

    def ai_of(self, text: str) -> str:
        """The AI named by the answer that was `text` (a draft now being revised)."""
        return next((t.ai for t in reversed(self.told) if t.text.strip() == text.strip()), "")

    def plot_of(self, text: str) -> str | None:
        """The plot of a stored text: that of the longest answer it contains (a chat
        document holds its question and its reply), or None if it holds none."""
        words = _normal(text)
        best: tuple[int, str | None] = (0, None)
        for told in self.documents():
            answer = _normal(told.text)
            if answer and answer in words and len(answer) > best[0]:
                best = (len(answer), told.plots[0])
        return best[1]


def _normal(text: str) -> str:
    # Whitespace and punctuation may be normalised by the clean stage; words are not.
    return " ".join(re.findall(r"\w+", text.lower()))


class Retold:
    """A `FakeProvider` responder (`provider.retold(share)` installs one)."""

    def __init__(self, share: float = 0.5) -> None:
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"share must be within [0, 1], got {share}")
        self.share = share
        self.log = RetoldLog()

    def __call__(self, prompt: str, body: dict[str, Any]) -> str:
        style, source = _style(body), _source(prompt)
        ai = ai_named(prompt) or (self.log.ai_of(source) if source else _pool_ai(prompt))
        if source is None and wants_list(prompt):
            return self._ideas(prompt, style, ai)
        return self._document(prompt, source or "", style, ai, int(body.get("max_tokens") or 1000))

    def _ideas(self, prompt: str, style: str, ai: str) -> str:
        lines, plots = [], []
        per_brief = {int(n): name.strip() for n, name in _BRIEF_AI.findall(prompt)}
        for i in range(_items_asked(prompt)):
            rng = random.Random(f"{_digest(prompt)}:{i}")
            plot = shared_plot(rng.randrange(6)) if rng.random() < self.share else new_plot(rng)
            named = per_brief.get(i + 1, ai)
            lines.append(f"{i + 1}. {idea_item(plot, style, named, rng)}")
            plots.append(plot.id)
        text = "\n".join(lines)
        self.log.add(Told("ideas", style, ai, prompt, "", tuple(plots), text))
        return text

    def _document(self, prompt: str, source: str, style: str, ai: str, max_tokens: int) -> str:
        plot: Plot = find_plot(source) or new_plot(random.Random(_digest(source or prompt)))
        if style == "story" and re.search(r"(?i)numbered beats|^outline the", prompt):
            style = "outline"
        words = _words_asked(prompt, max_tokens, style)
        text = telling(plot, style, ai, words, random.Random(_digest(prompt)))
        self.log.add(Told("document", style, ai, prompt, source, (plot.id,), text))
        return text


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _style(body: dict[str, Any]) -> str:
    """The genre's shape, from the genre block of the shared prefix ("" if none)."""
    system = block_texts(body.get("system", ""))
    for message in body.get("messages", []):
        if message.get("role") == "system":
            system += block_texts(message.get("content", ""))
    for text, _ in system:
        match = _GENRE.search(text)
        if match:
            title = match.group(1).lower()
            return next((s for s in _STYLES if s in title), "")
    return ""


def _pool_ai(prompt: str) -> str:
    match = _POOL_AI.search(prompt)
    return match.group(1).strip() if match else ""


def _source(prompt: str) -> str | None:
    for tag in _SOURCES:
        match = re.search(rf"<{tag}>\s*(.*?)\s*</{tag}>", prompt, re.DOTALL)
        if match:
            return match.group(1)
    return None


def _items_asked(prompt: str) -> int:
    for pattern in _ITEMS:
        match = pattern.search(prompt)
        if match:
            return max(1, min(int(match.group(1)), 100))
    return 5


def _words_asked(prompt: str, max_tokens: int, style: str) -> int:
    """The length the prompt asks for, within what max_tokens lets through."""
    match = _WORDS.search(prompt)
    asked = int(match.group(1)) if match else int(max_tokens * 0.4)
    if style == "outline":
        asked = min(asked, 220)
    return max(40, min(asked, int(max_tokens * 0.55)))
