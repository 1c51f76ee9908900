"""Near dedup at the threshold: recall just above it, nothing merged below it."""

from __future__ import annotations

import random

import numpy as np
import pytest

from sdf_corpus.clean.config import DedupConfig
from sdf_corpus.clean.dedup import NearDedup
from sdf_corpus.clean.minhash import MinHasher, exact_jaccard, shingle_hashes_reference
from textsynth import TextSynth, near_duplicate, shingle_jaccard


def _texts(n: int, seed: int) -> list[str]:
    return [
        TextSynth(seed + i).document(random.Random(seed + i).randint(150, 600)) for i in range(n)
    ]


def test_sets_hold_the_shingle_hashes_and_signatures_are_unchanged() -> None:
    texts = [*_texts(30, 40), "", "one two", "Repeat repeat repeat repeat repeat repeat repeat."]
    hasher = MinHasher()
    sigs, sets = hasher.signatures_and_sets(texts)
    assert np.array_equal(sigs, hasher.signatures(texts))
    for text, got in zip(texts, sets, strict=True):
        want = np.array(sorted(set(shingle_hashes_reference(text, 5))), dtype=np.uint32)
        assert np.array_equal(np.unique(np.frombuffer(got, dtype=np.uint32)), want)


def test_exact_jaccard_is_the_shingle_jaccard() -> None:
    rng = random.Random(5)
    base = _texts(20, 900)
    others = [near_duplicate(t, rng.uniform(0.3, 0.95), rng) for t in base]
    _, sets = MinHasher().signatures_and_sets(base + others)
    for i, (a, b) in enumerate(zip(base, others, strict=True)):
        # 32-bit shingle hashes: a collision in a 600-word pair is ~1e-4 likely.
        assert exact_jaccard(sets[i], sets[20 + i]) == pytest.approx(
            shingle_jaccard(a, b), abs=2e-3
        )
    assert exact_jaccard(b"", b"") == 1.0 and exact_jaccard(sets[0], b"") == 0.0


def test_pairs_just_above_the_threshold_are_found_and_none_below_is_merged() -> None:
    rng = random.Random(11)
    originals = _texts(400, 3000)
    texts, truth = list(originals), {}
    for i, text in enumerate(originals):
        # Half the copies land just above 0.8, half between 0.6 and 0.79.
        target = rng.uniform(0.805, 0.85) if i % 2 == 0 else rng.uniform(0.6, 0.79)
        copy = near_duplicate(text, target, rng)
        truth[f"c{i}"] = (f"o{i}", shingle_jaccard(text, copy))
        texts.append(copy)
    ids = [f"o{i}" for i in range(len(originals))] + [f"c{i}" for i in range(len(originals))]
    cfg = DedupConfig()
    sigs, sets = MinHasher(cfg.num_perm, cfg.ngram, cfg.seed).signatures_and_sets(texts)
    matches = dict(zip(ids, NearDedup(cfg).process_signatures(ids, sigs, sets), strict=True))
    above = [k for k, (_, j) in truth.items() if j >= cfg.threshold]
    below = [k for k, (_, j) in truth.items() if j < cfg.threshold - 0.01]
    assert len(above) > 150 and len(below) > 150
    found = sum(1 for k in above if matches[k] is not None and matches[k][0] == truth[k][0])
    assert found / len(above) >= 0.99
    assert not [k for k in below if matches[k] is not None]
    for k, match in matches.items():
        if match is not None:  # a reported similarity is the pair's exact one
            assert match[1] >= cfg.threshold
            assert match[1] == pytest.approx(truth[k][1], abs=2e-3)


def test_bands_must_fit_the_signature() -> None:
    with pytest.raises(ValueError, match="must not exceed"):
        DedupConfig(num_perm=64, bands=16, rows=8)
    assert DedupConfig(num_perm=128, bands=21, rows=6).bands == 21


def test_exact_jaccard_counts_distinct_values_of_unsorted_buffers() -> None:
    rng = np.random.default_rng(4)
    for _ in range(300):
        a = rng.integers(0, 60, int(rng.integers(1, 300)), dtype=np.uint32)
        b = rng.integers(0, 60, int(rng.integers(1, 300)), dtype=np.uint32)
        sa, sb = set(a.tolist()), set(b.tolist())
        assert exact_jaccard(a.tobytes(), b.tobytes()) == len(sa & sb) / len(sa | sb)
