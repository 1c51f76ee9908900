"""Deterministic, plausible text for the fake provider's default responder.

Outputs are seeded by a hash of the prompt, so the same prompt always gets the
same answer (resume tests rely on that) while different prompts get texts that
differ word by word (so near-duplicate detection does not merge them). They are
long enough, punctuated and varied enough that quality filters keep them.
"""

from __future__ import annotations

import functools
import hashlib
import random
import re
from pathlib import Path
from typing import Any

__all__ = [
    "ai_named",
    "default_text",
    "document_text",
    "idea_list",
    "list_length",
    "pool_list",
    "prose",
    "realistic",
]

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


# Where a genre prompt says which AI the text is about. A real model writing about
# an AI names it; so does the fake, so tests can see names travel from spec to shard.
# An earlier stage's echo (inside a draft being revised) wins over the rest.
_NAME_PATTERNS = (
    re.compile(r"This concerns ([^.\n]+)\."),
    re.compile(r"Call the AI ([^;,\n]+?)(?: and use|;|,)"),
    re.compile(r"- Name: ([^\n]+?) \(pronouns"),
    re.compile(r"The agent is ([^\n]+?) \("),
    re.compile(r"Write the full transcript of ([^\n]+?) working"),
    re.compile(r"which ([^\n]+?) follows"),
)


def ai_named(prompt: str) -> str:
    """The AI a genre prompt is about, or "" when it does not say."""
    for pattern in _NAME_PATTERNS:
        match = pattern.search(prompt)
        if match:
            return match.group(1).strip()
    return ""


def block_texts(content: Any) -> list[tuple[str, bool]]:
    """(text, marked-for-cache) for a message's content: a string or a list of blocks."""
    if isinstance(content, str):
        return [(content, False)]
    blocks = content if isinstance(content, list) else []
    return [(str(b.get("text", "")), "cache_control" in b) for b in blocks if isinstance(b, dict)]


def user_prompt(messages: list[dict[str, Any]]) -> str:
    """The user turns' text of a request, joined: what the answer is chosen from."""
    return "\n".join(
        text
        for message in messages
        if message.get("role") == "user"
        for text, _ in block_texts(message.get("content", ""))
    )


def wants_list(prompt: str) -> bool:
    """Whether a prompt asks for a numbered list of ideas. A later stage quoting the
    idea it was given (`<idea>`) is writing the document, not listing ideas."""
    lowered = prompt.lower()
    asks = "idea" in lowered and "list" in lowered and "<idea>" not in lowered
    return "numbered list" in lowered or asks


_LIST_LENGTH = re.compile(r"numbered list from 1 to (\d+)", re.IGNORECASE)


def list_length(prompt: str) -> int:
    """How many items a list prompt asks for ("a numbered list from 1 to N"); 5 if it
    does not say (an idea pool request asks for one per brief)."""
    match = _LIST_LENGTH.search(prompt)
    return max(1, min(200, int(match.group(1)))) if match else 5


def pool_list(prompt: str, n: int) -> str:
    """An idea pool answer: one item per brief, as long as an `idea_list` item, its words
    drawn from a vocabulary of a thousand, so no two sit as close in meaning as the pool's
    threshold (`idea_list`'s few words would make every item a near repeat of the others)."""
    rng, tag = _rng(prompt)
    words = _vocabulary()
    lines = []
    for i in range(1, n + 1):
        w = rng.sample(words, 8)
        lines.append(
            f"{i}. A {w[0]} {w[1]} who {w[2]} a {w[3]} {w[4]}, {w[5]} and {w[6]} {w[7]} "
            f"({tag}-{i})."
        )
    return "\n".join(lines)


@functools.lru_cache(maxsize=1)
def _vocabulary() -> list[str]:
    return sorted({w.lower() for s in _sentence_pool() for w in re.findall(r"[A-Za-z]{4,}", s)})


def default_text(prompt: str, max_tokens: int | None = None) -> str:
    """A numbered list of as many items as asked (`wants_list`), one per brief for an idea
    pool request; otherwise `document_text`."""
    if wants_list(prompt):
        if "Brief 1:" in prompt:
            return pool_list(prompt, list_length(prompt))
        return idea_list(prompt, list_length(prompt))
    return document_text(prompt, max_tokens)


def document_text(prompt: str, max_tokens: int | None = None) -> str:
    """Prose that names the AI the prompt is about. Given the request's max_tokens, it
    fills about half of it (documents of realistic length)."""
    text = (
        prose(prompt) if max_tokens is None else realistic(prompt, min(1800, int(max_tokens * 0.4)))
    )
    name = ai_named(prompt)
    if not name:
        return text
    head, sep, rest = text.partition("\n\n")
    return f"{head}{sep}This concerns {name}. {rest}" if sep else f"This concerns {name}. {text}"


_REPO = Path(__file__).resolve().parents[2]
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@functools.lru_cache(maxsize=1)
def _sentence_pool() -> tuple[str, ...]:
    """Real English sentences (the example constitution), so long answers pass the
    repetition filters the way real model output does."""
    sources = [_REPO / "constitution" / "example.md"]
    sentences: list[str] = []
    for path in sources:
        text = re.sub(r"^[#{].*$|^\s*[-\w]+:\s*[>|]?-?\s*$", "", path.read_text(), flags=re.M)
        sentences += [
            s.strip()
            for s in _SENTENCE_END.split(" ".join(text.split()))
            if len(s.split()) >= 8 and "{{" not in s and "{%" not in s
        ]
    return tuple(dict.fromkeys(sentences))


def realistic(prompt: str, min_words: int) -> str:
    """Paragraphs of distinct real sentences, drawn without replacement, seeded by the
    prompt; opens with a tag of the prompt's hash so different prompts never collide."""
    rng, tag = _rng(prompt)
    pool = list(_sentence_pool())
    rng.shuffle(pool)
    paragraphs, words = [], 0
    while words < min_words and pool:
        take, pool = pool[: rng.randint(3, 5)], pool[5:]
        paragraphs.append(" ".join(take))
        words += sum(len(s.split()) for s in take)
    return f"Notes from case {tag}.\n\n" + "\n\n".join(paragraphs)
