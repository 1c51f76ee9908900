"""Deterministic, realistic-looking English text for tests and benchmarks.

Test data, not part of the package: the tests import it from here (tests/ is on
pytest's path) and the benchmarks through benchmarks/_common.py.

Sentences are composed from templates and a modest vocabulary, so texts have
natural stop-word shares, punctuation and paragraph structure, yet two texts
from different seeds share few 5-gram shingles. `near_duplicate` edits a text
until its shingle Jaccard similarity to the original reaches a target.
"""

from __future__ import annotations

import random

from sdf_corpus.clean.normalize import normalise

__all__ = ["TextSynth", "near_duplicate", "shingle_jaccard", "shingles"]

_SUBJECTS = (
    "the engineer",
    "my neighbour",
    "a young teacher",
    "the committee",
    "our team",
    "the old farmer",
    "a careful reader",
    "the assistant",
    "her brother",
    "the city council",
    "a quiet student",
    "the new manager",
    "his grandmother",
    "the research group",
    "a nurse",
    "the river guide",
    "every volunteer",
    "the baker",
    "a tired pilot",
    "the museum curator",
)
_VERBS = (
    "noticed",
    "explained",
    "questioned",
    "remembered",
    "described",
    "rebuilt",
    "measured",
    "argued about",
    "wrote about",
    "carried",
    "painted",
    "repaired",
    "studied",
    "shared",
    "ignored",
    "welcomed",
    "compared",
    "planned",
    "tested",
    "followed",
)
_OBJECTS = (
    "the broken fence",
    "a long letter",
    "the morning report",
    "an unusual map",
    "the garden",
    "a small boat",
    "the budget",
    "an honest answer",
    "the harvest",
    "a difficult question",
    "the schedule",
    "a warm meal",
    "the library records",
    "a fragile promise",
    "the bridge",
    "an old photograph",
    "the weather data",
    "a new recipe",
    "the village well",
    "the plan",
)
_ADVERBIALS = (
    "before dawn",
    "after the storm",
    "with great care",
    "without a word",
    "in the evening",
    "for the third time",
    "despite the rain",
    "during the meeting",
    "near the station",
    "at the edge of town",
    "because it mattered",
    "as the light faded",
    "on a cold Tuesday",
    "while everyone waited",
    "in spite of the noise",
    "by the window",
)
_CONNECTORS = (
    "Later,",
    "However,",
    "Meanwhile,",
    "Still,",
    "In the end,",
    "At first,",
    "Even so,",
    "For a while,",
    "Then",
    "Afterwards,",
    "Of course,",
    "Eventually,",
)
_ADJ = (
    "patient",
    "curious",
    "stubborn",
    "generous",
    "nervous",
    "quiet",
    "cheerful",
    "honest",
    "careful",
    "restless",
    "thoughtful",
    "proud",
    "gentle",
    "brave",
    "weary",
    "clever",
)
_NOUNS = (
    "idea",
    "problem",
    "decision",
    "journey",
    "lesson",
    "mistake",
    "conversation",
    "season",
    "project",
    "story",
    "question",
    "choice",
    "memory",
    "experiment",
    "debate",
    "promise",
)


_SURPRISE = (
    "Nobody expected that",
    "Few of us guessed that",
    "It surprised everyone that",
    "Who could have known that",
    "None of the neighbours believed that",
)
_BE_SO = ("would be so", "could feel so", "might seem so", "had grown so", "was still so")


class _Picker:
    """Random choice with an occasional adjective, so fixed phrases rarely repeat."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def choice(self, items: tuple[str, ...]) -> str:
        item = self.rng.choice(items)
        if items in (_SUBJECTS, _OBJECTS) and self.rng.random() < 0.5:
            head, _, rest = item.partition(" ")
            return f"{head} {self.rng.choice(_ADJ)} {rest}".replace("a a", "an a")
        return item

    def randrange(self, n: int) -> int:
        return self.rng.randrange(n)


class TextSynth:
    """Composes varied English sentences; same seed, same text."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def sentence(self) -> str:
        r = _Picker(self.rng)
        kind = r.randrange(4)
        if kind == 0:
            s = (
                f"{r.choice(_SUBJECTS)} {r.choice(_VERBS)} {r.choice(_OBJECTS)} "
                f"{r.choice(_ADVERBIALS)}"
            )
        elif kind == 1:
            s = (
                f"{r.choice(_CONNECTORS)} {r.choice(_SUBJECTS)} {r.choice(_VERBS)} "
                f"{r.choice(_OBJECTS)}, and {r.choice(_SUBJECTS)} {r.choice(_VERBS)} "
                f"{r.choice(_OBJECTS)}"
            )
        elif kind == 2:
            s = (
                f"{r.choice(('It was a', 'That was a', 'This became a', 'What followed was a'))} "
                f"{r.choice(_ADJ)} {r.choice(_NOUNS)} for {r.choice(_SUBJECTS)}, "
                f"who {r.choice(_VERBS)} {r.choice(_OBJECTS)} {r.choice(_ADVERBIALS)}"
            )
        else:
            s = (
                f"{r.choice(_SURPRISE)} {r.choice(_SUBJECTS)} {r.choice(_BE_SO)} {r.choice(_ADJ)} "
                f"about {r.choice(_OBJECTS)}, but the {r.choice(_NOUNS)} was "
                f"{r.choice(_ADJ)} {r.choice(_ADVERBIALS)}"
            )
        s = s[0].upper() + s[1:]
        return s + self.rng.choice((".", ".", ".", "!", "?"))

    def paragraph(self, n_sentences: int | None = None) -> str:
        n = n_sentences if n_sentences is not None else self.rng.randint(3, 6)
        return " ".join(self.sentence() for _ in range(n))

    def document(self, n_words: int = 500) -> str:
        """About `n_words` words in paragraphs of 3-6 sentences."""
        paragraphs: list[str] = []
        count = 0
        while count < n_words:
            p = self.paragraph()
            paragraphs.append(p)
            count += len(p.split())
        return "\n\n".join(paragraphs)


def shingles(text: str, ngram: int = 5) -> set[str]:
    words = normalise(text).split()
    if not words:
        return set()
    return {" ".join(words[i : i + ngram]) for i in range(max(len(words) - ngram + 1, 1))}


def shingle_jaccard(a: str, b: str, ngram: int = 5) -> float:
    sa, sb = shingles(a, ngram), shingles(b, ngram)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


def near_duplicate(text: str, jaccard: float, rng: random.Random, ngram: int = 5) -> str:
    """`text` with random words replaced until shingle Jaccard drops to about `jaccard`.

    Replacements are fresh tokens ("w1234"), so the exact Jaccard of the result
    is within one edit of the target; callers that need the exact value
    recompute it with `shingle_jaccard`.
    """
    words = text.split(" ")
    base = shingles(text, ngram)
    current = words[:]
    # Each edit removes up to `ngram` shingles; step in small batches and re-measure.
    while True:
        if (
            len(base & shingles(" ".join(current), ngram))
            / max(len(base | shingles(" ".join(current), ngram)), 1)
            <= jaccard
        ):
            return " ".join(current)
        i = rng.randrange(len(current))
        current[i] = f"w{rng.randrange(10**6)}"
