"""The semantic step's search and decision against a straightforward reference.

The step keeps, per block of similarities, only each document's background and the
pairs that can merge (`SemanticDedup._search`). The reference below does what the step
promises in the plainest way (the whole similarity matrix, a sorted neighbour list per
document, the greedy pass over it) so the two must drop the same documents as the same
documents' repeats, with the same details.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from sdf_corpus.clean.config import SemanticConfig
from sdf_corpus.clean.semantic import SemanticDedup, _within_rank
from sdf_corpus.document import Document

Held = tuple[Document, npt.NDArray[np.float32], bytes, bytes]


def _corpus(n: int, seed: int, genres: int = 3, dim: int = 48) -> list[Held]:
    """Clustered vectors with retellings (a close vector sharing most words), exact
    copies of a vector (ties), and a few documents of one digest (exact dedup off)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(12, dim))
    vocab = rng.choice(2**19, size=5000, replace=False).astype(np.uint32)  # distinct counters
    vocab[:40] = np.arange(40, dtype=np.uint32)  # 40 words every document uses: common
    held: list[Held] = []
    for i in range(n):
        base = int(rng.integers(0, len(held))) if held and rng.random() < 0.25 else -1
        if base >= 0:  # a retelling of an earlier document: a close vector, most words
            _, v0, w0, _ = held[base]
            v = v0 + (0 if rng.random() < 0.2 else rng.normal(scale=0.15, size=dim))
            words = np.frombuffer(w0, dtype=np.uint32)
            keep = words[rng.random(words.size) < 0.8]
            w = np.unique(np.concatenate([keep, vocab[:40], rng.choice(vocab[40:], 20)]))
            genre = held[base][0].genre if rng.random() < 0.8 else f"g{i % genres}"
        else:
            v = centres[rng.integers(0, 12)] + rng.normal(scale=0.9, size=dim)
            w = np.unique(
                np.concatenate([vocab[:40], rng.choice(vocab[40:], int(rng.integers(30, 80)))])
            )
            genre = f"g{i % genres}"
        v = (v / np.linalg.norm(v)).astype(np.float32)
        key = f"d{i // 7}" if i % 50 == 0 else f"d{i}"  # a few shared digests
        digest = hashlib.blake2b(key.encode(), digest_size=16).digest()
        doc = Document(id=f"doc-{i:04d}", text="", genre=genre)
        held.append((doc, v, w.astype(np.uint32).tobytes(), digest))
    return held


def _jaccard(a: bytes, b: bytes, common: set[int]) -> float:
    """Distinct words less the genre's common ones (the step's `content_overlap`)."""
    x = set(np.frombuffer(a, np.uint32).tolist()) - common
    y = set(np.frombuffer(b, np.uint32).tolist()) - common
    return len(x & y) / len(x | y) if x and y else 0.0


def _common(sets: list[bytes], cfg: SemanticConfig) -> set[int]:
    """Words more than `common_share` of the genre's documents use, and at least
    `common_min_docs` of them. (The step counts by 2^19 hashed counters, so two words
    may share one: the test corpus's 5,000 random words are checked to share none.)"""
    uses: dict[int, int] = {}
    for words in sets:
        for w in set(np.frombuffer(words, np.uint32).tolist()):
            uses[w] = uses.get(w, 0) + 1
    n = len(sets)
    return {w for w, c in uses.items() if c > cfg.common_share * n and c >= cfg.common_min_docs}


def _reference(held: list[Held], cfg: SemanticConfig) -> dict[str, tuple[str, dict[str, float]]]:
    """Per dropped id: (the kept id it repeats, detail)."""
    out: dict[str, tuple[str, dict[str, float]]] = {}
    genre_of = [h[0].genre for h in held]
    for genre in dict.fromkeys(genre_of):
        members = sorted(
            (i for i, g in enumerate(genre_of) if g == genre),
            key=lambda i: (held[i][3], held[i][0].id),
        )
        n = len(members)
        if n < 2:
            continue
        k = max(1, min(cfg.background_rank, (n - 1) // 2))  # the median one in a small genre
        common = _common([held[i][2] for i in members], cfg)
        v = np.stack([held[i][1] for i in members]).astype(np.float16).astype(np.float32)
        s = v @ v.T
        nbrs = [sorted((j for j in range(n) if j != r), key=lambda j: (-s[r, j], j))[:k]
                for r in range(n)]  # fmt: skip
        bg = np.array([s[r, nbrs[r][-1]] for r in range(n)], dtype=np.float32)
        kept = [True] * n
        for r, j in ((row, j) for row in range(n) for j in nbrs[row]):
            floor = max(bg[r], bg[j])
            if not kept[r] or j >= r or not kept[j] or s[r, j] < cfg.threshold:
                continue
            if s[r, j] - floor < cfg.margin:
                continue
            overlap = _jaccard(held[members[r]][2], held[members[j]][2], common)
            if overlap >= cfg.min_word_overlap:
                kept[r] = False
                detail = {
                    "cosine": round(float(s[r, j]), 4),
                    "background": round(float(floor), 4),
                    "word_overlap": round(overlap, 4),
                }
                out[held[members[r]][0].id] = (held[members[j]][0].id, detail)
    return out


def _step(held: list[Held], cfg: SemanticConfig, threads: int = 1) -> dict[str, Any]:
    step = SemanticDedup(cfg, threads)
    try:
        for doc, vector, words, digest in held:
            step.hold(doc, vector, words, digest)
        matches = step.decide()
    finally:
        step.close()
    return {held[i][0].id: match for i, match in matches.items()}


@pytest.mark.parametrize(
    ("seed", "settings"),
    [
        (1, {}),
        (2, {"background_rank": 5, "threshold": 0.6}),
        (3, {"margin": 0.0, "background_rank": 8}),  # candidates may tie the background
        (4, {"min_word_overlap": 0.5, "background_rank": 3}),
    ],
)
def test_step_drops_what_the_reference_drops(seed: int, settings: dict[str, Any]) -> None:
    held = _corpus(400, seed)
    cfg = SemanticConfig(**settings)
    expected = _reference(held, cfg)
    assert len(expected) >= 20  # the set has retellings to find
    assert _step(held, cfg) == expected
    assert _step(held, cfg, threads=2) == expected


def test_inverted_file_search_drops_what_the_exact_one_drops() -> None:
    held = _corpus(3000, 7, genres=1)
    exact = _step(held, SemanticConfig(exact_max_docs=10**6))
    assert len(exact) >= 200
    assert _step(held, SemanticConfig(exact_max_docs=0), threads=2) == exact


def test_held_documents_come_back_whole_by_position() -> None:
    held = _corpus(60, 9)
    step = SemanticDedup(SemanticConfig(), 1)
    for doc, vector, words, digest in held:
        step.hold(doc, vector, words, digest)
    matches = step.decide()
    back = [step.document(i, held[i][0].to_row()) for i in range(len(held))]
    ids = [step.held_id(i) for i in range(len(held))]
    step.close()
    assert back == [h[0] for h in held]
    assert ids == [h[0].id for h in held]
    expected = _reference(held, SemanticConfig())
    assert {held[i][0].id: m for i, m in matches.items()} == expected


def _scene(extra: list[tuple[str, str, npt.NDArray[np.float32], list[int]]]) -> list[Held]:
    """40 unrelated documents of genre "g", then `extra` (id, digest key, vector, words)."""
    rng = np.random.default_rng(13)
    held: list[Held] = []
    rows = [(f"bg{i:02d}", f"bg{i}", rng.normal(size=48), list(range(1000 + 40 * i, 1040 + 40 * i)))
            for i in range(40)]  # fmt: skip
    for doc_id, key, v, words in [*rows, *extra]:
        unit = (v / np.linalg.norm(v)).astype(np.float32)
        digest = hashlib.blake2b(key.encode(), digest_size=16).digest()
        w = np.unique(np.asarray(words, dtype=np.uint32)).tobytes()
        held.append((Document(id=doc_id, text="", genre="g"), unit, w, digest))
    return held


def test_documents_of_one_digest_are_ordered_by_id() -> None:
    v = np.random.default_rng(3).normal(size=48)
    # one text digest, one story: whichever comes first in the input, "a" is kept
    pair = [("b", "same", v, list(range(40))), ("a", "same", v, list(range(40)))]
    for extra in (pair, pair[::-1]):
        got = _step(_scene(extra), SemanticConfig())
        assert {k: m[0] for k, m in got.items()} == {"b": "a"}


def test_equal_cosines_go_to_the_earlier_document() -> None:
    v = np.random.default_rng(4).normal(size=48)
    # "x" and "y" share the vector but no word: both kept; "z" repeats both equally
    extra = [
        ("x", "k2", v, list(range(40))),
        ("y", "k1", v, list(range(40, 80))),
        ("z", "k3", v, list(range(80))),
    ]
    held = _scene(extra)
    earlier = min(("x", "y"), key=lambda i: next(h[3] for h in held if h[0].id == i))
    got = _step(held, SemanticConfig())
    assert {k: m[0] for k, m in got.items()} == {"z": earlier}
    assert got == _reference(held, SemanticConfig())


def test_a_candidate_tying_the_background_counts_only_within_rank() -> None:
    # a row with four similarities tied at its 3rd largest (0.5): its 3 nearest hold
    # two of them, the first by column; a margin of 0 lets ties through
    s = np.array([[0.9, 0.5, -np.inf, 0.5, 0.5, 0.5, 0.1]], dtype=np.float32)
    bg = np.array([0.5], dtype=np.float32)
    r, c = np.zeros(5, dtype=np.int64), np.array([0, 1, 3, 4, 5])
    kept = _within_rank(s, bg, r, c, 3)
    assert kept[1].tolist() == [0, 1, 3]
