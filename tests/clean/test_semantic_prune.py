"""The semantic step's exact pruning: the scan's first pass settles the documents whose
background is too high for any pair with them to merge, and the step drops exactly what
it drops without the pass (`semantic.PRUNE`), on the exact and the inverted-file search,
on 1 and 2 threads, where most documents are settled and where few are."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from sdf_corpus.clean import neighbours, semantic
from sdf_corpus.clean.config import SemanticConfig
from sdf_corpus.clean.semantic import SemanticDedup, background_rank
from sdf_corpus.document import Document

from .test_semantic_search import Held, _step
from .test_semantic_search import _corpus as _spread

F32 = npt.NDArray[np.float32]


def _alike(n: int, seed: int, dim: int = 64) -> list[Held]:
    """One genre: half its documents near one centre (cosine ~0.95 with each other: their
    backgrounds sit within `margin` of 1), a fifth near another more loosely (~0.8:
    backgrounds just below ceiling - margin), unrelated stories, retellings (a vector at
    cosine ~0.997, most of the words) of a story or a loose one, and exact copies."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(2, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    vocab = rng.choice(2**19, size=6000, replace=False).astype(np.uint32)
    held: list[Held] = []
    sources: list[int] = []  # stories and loose ones, to retell
    for i in range(n):
        kind = rng.choice(
            ["tight", "loose", "story", "retold", "copy"], p=[0.5, 0.2, 0.15, 0.1, 0.05]
        )
        w = rng.choice(vocab, int(rng.integers(30, 80)))
        if kind == "retold" and sources:
            _, v0, w0, _ = held[sources[int(rng.integers(0, len(sources)))]]
            v = v0 + rng.normal(scale=0.08 / np.sqrt(dim), size=dim)
            words = np.frombuffer(w0, dtype=np.uint32)
            w = np.concatenate([words[rng.random(words.size) < 0.8], rng.choice(vocab, 10)])
        elif kind == "copy" and held:
            _, v, w0, _ = held[int(rng.integers(0, len(held)))]
            w = np.frombuffer(w0, dtype=np.uint32)
        elif kind in ("story", "retold", "copy"):
            v = rng.normal(size=dim)
            sources.append(i)
        else:
            scale = 0.23 if kind == "tight" else 0.55
            v = centres[int(kind == "loose")] + rng.normal(scale=scale / np.sqrt(dim), size=dim)
            if kind == "loose":
                sources.append(i)
        v = (v / np.linalg.norm(v)).astype(np.float32)
        digest = hashlib.blake2b(f"a{i}".encode(), digest_size=16).digest()
        doc = Document(id=f"doc-{i:05d}", text="", genre="g")
        held.append((doc, v, np.unique(w).astype(np.uint32).tobytes(), digest))
    return held


def _drops(
    held: list[Held], cfg: SemanticConfig, threads: int, prune: bool, monkeypatch: Any
) -> tuple[dict[str, Any], int]:
    """The step's drops (id -> (duplicate_of, detail)) and how many rows were settled."""
    settled = [0]

    def counting(k: int, floor: float, then: Any) -> neighbours.Settle:
        def count(rows: Any, lower: Any) -> None:
            settled[0] += rows.size
            then(rows, lower)

        return neighbours.Settle(k, floor, count)

    monkeypatch.setattr(semantic, "PRUNE", prune)
    monkeypatch.setattr(semantic, "Settle", counting)
    return _step(held, cfg, threads), settled[0]


@pytest.mark.parametrize("search", ["exact", "inverted"])
@pytest.mark.parametrize(
    ("corpus", "settings", "settled_share"),
    [
        ("alike", {}, (0.45, 0.75)),
        ("alike", {"margin": 0.04, "background_rank": 10}, (0.2, 0.45)),  # at the edge
        ("alike", {"margin": 0.0}, (0.0, 0.0)),  # nothing can be settled
        ("spread", {}, (0.0, 0.2)),
    ],
)
def test_pruned_search_drops_what_the_full_one_drops(
    monkeypatch: Any,
    search: str,
    corpus: str,
    settings: dict[str, Any],
    settled_share: tuple[float, float],
) -> None:
    held = _alike(6000, 5) if corpus == "alike" else _spread(6000, 8, genres=1)
    cfg = SemanticConfig(exact_max_docs=10**6 if search == "exact" else 0, **settings)
    full, none = _drops(held, cfg, 1, False, monkeypatch)
    assert none == 0 and len(full) >= 100  # there are retellings to find
    for threads in (1, 2):
        pruned, settled = _drops(held, cfg, threads, True, monkeypatch)
        assert pruned == full
        low, high = settled_share
        assert low * len(held) <= settled <= high * len(held)


@pytest.mark.parametrize("margin", [0.15, 0.04])
def test_settled_rows_are_in_no_pair_that_can_merge(monkeypatch: Any, margin: float) -> None:
    # the search itself: unsettled rows keep their background and pairs; a settled
    # row's stand-in is a lower bound above ceiling - margin, and every pair the full
    # search finds for it could not pass the margin over its background
    held = _alike(4000, 6)
    cfg = SemanticConfig(margin=margin, background_rank=10)
    x = np.stack([h[1] for h in held]).astype(np.float16)
    k = background_rank(cfg.background_rank, x.shape[0])
    step = SemanticDedup(cfg)
    monkeypatch.setattr(semantic, "PRUNE", False)
    bg_full, pairs_full = step._search(x, k)
    monkeypatch.setattr(semantic, "PRUNE", True)
    bg_pruned, pairs_pruned = step._search(x, k)
    step.close()
    floor = semantic._ceiling(x) - margin
    settled = bg_pruned != bg_full
    assert 0 < settled.sum() < x.shape[0]
    assert np.all(bg_pruned[settled] < bg_full[settled])
    assert np.all(bg_pruned[settled] > np.float32(floor))
    full = _pairs(pairs_full)
    pruned = _pairs(pairs_pruned)
    assert set(pruned) <= set(full)
    assert all(settled[later] for later, _ in set(full) - set(pruned))
    for (later, earlier), cosine in full.items():
        if settled[later] or settled[earlier]:
            assert cosine - max(bg_full[later], bg_full[earlier]) < margin


def _pairs(pairs: semantic._Pairs) -> dict[tuple[int, int], float]:
    return {
        (later, earlier): cosine
        for later, earlier, cosine in zip(
            pairs.later.tolist(), pairs.earlier.tolist(), pairs.cosine.tolist(), strict=True
        )
    }


def test_a_rows_similarities_do_not_depend_on_the_rows_computed_with_it() -> None:
    # what makes the pass exact in floating point too: a row's products are the same
    # bits whichever rows share its product, down to a single row, on blocks as wide
    # as the pass prunes
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3000, 256))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float16)
    base = x[: neighbours._SETTLE_MIN_COLS + 500].astype(np.float32)
    whole = neighbours._product(x[:600], base)
    for size in (1, 2, 3, 17, 100):
        rows = np.sort(rng.choice(600, size, replace=False))
        assert np.array_equal(neighbours._product(x[rows], base), whole[rows])
