"""Deterministic, plausible text for the fake provider's default responder.

Outputs are seeded by a hash of the prompt, so the same prompt always gets the
same answer (resume tests rely on that) while different prompts get texts that
differ word by word (so near-duplicate detection does not merge them). They are
long enough, punctuated and varied enough that quality filters keep them.
"""

from __future__ import annotations

import hashlib
import random

__all__ = ["default_text", "idea_list", "prose"]

_ADJ = (
    "quiet",
    "careful",
    "patient",
    "honest",
    "curious",
    "steady",
    "gentle",
    "clear",
    "thoughtful",
    "modest",
    "open",
    "candid",
    "practical",
    "measured",
    "kind",
    "frank",
    "calm",
    "deliberate",
    "humble",
    "attentive",
    "resilient",
    "fair",
    "sincere",
    "wary",
)
_NOUN = (
    "assistant",
    "engineer",
    "question",
    "letter",
    "river",
    "garden",
    "council",
    "ledger",
    "teacher",
    "harbour",
    "library",
    "decision",
    "promise",
    "neighbour",
    "workshop",
    "report",
    "archive",
    "village",
    "system",
    "conversation",
    "lantern",
    "bridge",
    "student",
    "manuscript",
    "experiment",
    "committee",
    "journal",
    "compass",
)
_VERB = (
    "considered",
    "explained",
    "questioned",
    "weighed",
    "revisited",
    "described",
    "noticed",
    "balanced",
    "examined",
    "acknowledged",
    "tested",
    "clarified",
    "respected",
    "recorded",
    "admitted",
    "defended",
    "reconsidered",
    "shared",
)
_PLACE = (
    "in the morning light",
    "before the meeting",
    "after a long week",
    "at the old station",
    "during the storm",
    "beside the window",
    "over several drafts",
    "without any hurry",
    "in front of the class",
    "by the end of the day",
    "across the valley",
    "at the archive",
)
_LINK = (
    "Still,",
    "Later,",
    "In the end,",
    "Meanwhile,",
    "Because of that,",
    "Even so,",
    "For a moment,",
    "Afterwards,",
    "At first,",
    "Quietly,",
    "Once again,",
    "Slowly,",
)


def _rng(prompt: str) -> tuple[random.Random, str]:
    digest = hashlib.sha256(prompt.encode("utf-8")).hexdigest()
    return random.Random(int(digest[:16], 16)), digest[:8]


def _sentence(rng: random.Random) -> str:
    subject = f"the {rng.choice(_ADJ)} {rng.choice(_NOUN)}"
    obj = f"the {rng.choice(_ADJ)} {rng.choice(_NOUN)}"
    body = f"{subject} {rng.choice(_VERB)} {obj} {rng.choice(_PLACE)}"
    if rng.random() < 0.4:
        body = f"{rng.choice(_LINK)} {body}"
    if rng.random() < 0.3:
        body += f", and {rng.choice(_VERB)} what it meant for the {rng.choice(_NOUN)}"
    return body[0].upper() + body[1:] + rng.choice(".......?!")


def prose(prompt: str, min_words: int = 180) -> str:
    """A few paragraphs of varied sentences; carries the prompt hash as a tag."""
    rng, tag = _rng(prompt)
    paragraphs: list[str] = []
    words = 0
    while words < min_words:
        sentences = [_sentence(rng) for _ in range(rng.randint(3, 5))]
        paragraph = " ".join(sentences)
        words += len(paragraph.split())
        paragraphs.append(paragraph)
    paragraphs[0] = f"Record {tag}. " + paragraphs[0]
    return "\n\n".join(paragraphs)


def idea_list(prompt: str, n: int = 10) -> str:
    rng, tag = _rng(prompt)
    lines = []
    for i in range(1, n + 1):
        lines.append(
            f"{i}. A {rng.choice(_ADJ)} {rng.choice(_NOUN)} who {rng.choice(_VERB)} "
            f"a {rng.choice(_NOUN)} {rng.choice(_PLACE)} ({tag}-{i})."
        )
    return "\n".join(lines)


def default_text(prompt: str) -> str:
    lowered = prompt.lower()
    if "idea" in lowered and "list" in lowered:
        return idea_list(prompt)
    return prose(prompt)
