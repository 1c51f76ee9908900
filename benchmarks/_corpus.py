"""Deterministic benchmark corpora built from tests/textsynth.py.

`planted_corpus` returns originals plus near duplicates at known Jaccard
levels (each duplicate records its original and its exact shingle Jaccard);
`jsonl_corpus` streams realistic JSONL rows with planted junk for the clean
benchmarks. Nothing here is held longer than one document at a time unless
the caller keeps it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass

from textsynth import TextSynth, shingles


@dataclass
class Planted:
    id: str
    text: str
    original: str | None = None  # id of the document this one was derived from
    jaccard: float | None = None  # exact shingle Jaccard with the original


def jaccard_of(a: set[str], b: set[str]) -> float:
    return len(a & b) / max(len(a | b), 1)


def plant_near(text: str, target: float, rng: random.Random) -> tuple[str, float]:
    """Replace the first m words of a random order with fresh tokens; m by bisection."""
    words = text.split(" ")
    order = list(range(len(words)))
    rng.shuffle(order)
    base = shingles(text)

    def edit(m: int) -> tuple[str, float]:
        cur = words[:]
        for i in order[:m]:
            cur[i] = f"w{rng.randrange(10**6)}"
        out = " ".join(cur)
        return out, jaccard_of(base, shingles(out))

    lo, hi = 0, len(words)
    best = edit(0)
    while lo < hi:  # smallest m whose Jaccard <= target
        mid = (lo + hi) // 2
        cand = edit(mid)
        if cand[1] <= target:
            best, hi = cand, mid
        else:
            lo = mid + 1
    return best


def planted_corpus(
    n_originals: int, levels: tuple[float, ...], dup_every: int = 2, seed: int = 7
) -> list[Planted]:
    """Originals of 300-800 words; every `dup_every`-th one gets a near duplicate.

    Duplicates cycle through `levels` and are placed a little later in the stream.
    """
    rng = random.Random(seed)
    docs: list[Planted] = []
    pending: list[Planted] = []
    for i in range(n_originals):
        text = TextSynth(seed * 1_000_003 + i).document(rng.randint(300, 800))
        docs.append(Planted(f"orig-{i}", text))
        if i % dup_every == 0:
            level = levels[(i // dup_every) % len(levels)]
            dup, j = plant_near(text, level, rng)
            pending.append(Planted(f"dup-{i}", dup, f"orig-{i}", j))
        if len(pending) > 3 or (pending and rng.random() < 0.3):
            docs.append(pending.pop(0))
    docs.extend(pending)
    return docs


_JUNK_KINDS = ("exact", "near", "loop", "preamble", "french", "truncated")
_FRENCH = (
    "le",
    "la",
    "les",
    "de",
    "des",
    "et",
    "un",
    "une",
    "est",
    "dans",
    "pour",
    "avec",
    "maison",
    "travail",
    "jour",
    "rapport",
    "conseil",
    "ville",
    "projet",
    "question",
)


def _french(rng: random.Random, n_words: int) -> str:
    sents = []
    for _ in range(n_words // 12 + 1):
        ws = [rng.choice(_FRENCH) for _ in range(12)]
        sents.append(" ".join(ws).capitalize() + ".")
    return " ".join(sents)


def realistic_words(rng: random.Random) -> int:
    """Document length in words: log-normal, median ~550, clipped to 80..4000."""
    return int(min(max(rng.lognormvariate(6.3, 0.55), 80), 4000))


def jsonl_corpus(
    n_docs: int | None,
    seed: int = 11,
    words: tuple[int, int] | None = (450, 650),
    junk_frac: float = 0.12,
) -> Iterator[str]:
    """JSON lines: mostly clean prose, `junk_frac` planted junk of every kind.

    `words=None` draws realistic lengths; `n_docs=None` never stops (the caller
    stops reading). Memory stays bounded: only a small ring of recent texts is
    kept to copy duplicates from.
    """
    rng = random.Random(seed)
    recent: list[str] = []
    i = -1
    while n_docs is None or i + 1 < n_docs:
        i += 1

        def n_words() -> int:
            return rng.randint(*words) if words else realistic_words(rng)

        kind = rng.choice(_JUNK_KINDS) if rng.random() < junk_frac else "clean"
        if kind in ("exact", "near") and recent:
            src = rng.choice(recent)
            text = src if kind == "exact" else plant_near(src, rng.choice((0.85, 0.95)), rng)[0]
        elif kind == "french":
            text = _french(rng, n_words())
        else:
            text = TextSynth(seed * 1_000_003 + i).document(n_words())
            if kind == "loop":
                text += " " + " ".join(["And then she smiled at the window."] * 12)
            elif kind == "preamble":
                text = "Sure! Here is your blog post:\n\n" + text
            elif kind == "truncated":
                text = text[: int(len(text) * 0.97)].rstrip(" .!?")
        if kind == "clean":
            recent.append(text)
            if len(recent) > 200:
                recent.pop(rng.randrange(len(recent)))
        yield json.dumps(
            {
                "id": f"d{seed}-{i}",
                "text": text,
                "genre": "blog_post",
                "principle_id": f"p{i % 33}",
                "persona_id": f"a{i % 81}",
            }
        )
