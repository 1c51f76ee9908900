from __future__ import annotations

import random

import numpy as np
import pytest
from datasketch import MinHash

from sdf_corpus.clean.minhash import (
    SCHEME,
    MinHasher,
    affine32_permutations,
    shingle_hashes_reference,
)
from sdf_corpus.clean.normalize import _PUNCT, NormalisedBatch, digest_normalised, normalise
from textsynth import TextSynth, near_duplicate, shingle_jaccard, shingles


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello,   World!", "hello world"),
        ("end.Start", "end start"),
        ("  Tabs\tand\nnewlines ", "tabs and newlines"),
        ("Ça  VA? Très bien…", "ça va très bien"),
        ("snake_case", "snake case"),
        ("", ""),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_ascii_fast_path_matches_regex() -> None:
    rng = random.Random(3)
    for _ in range(5000):
        s = "".join(chr(rng.randrange(128)) for _ in range(rng.randrange(40)))
        assert normalise(s) == " ".join(_PUNCT.sub(" ", s.casefold()).split())


def _random_texts(rng: random.Random, n: int) -> list[str]:
    alphabet = "ab cD.,\t\n_'é–😀 1 "
    return ["".join(rng.choice(alphabet) for _ in range(rng.randrange(30))) for _ in range(n)]


def test_normalised_batch_equals_normalise_text_by_text() -> None:
    """The batch's bytes, words and digests are exactly those of `normalise` per text,
    for texts of spaces alone, empty texts, non-ASCII and runs of punctuation."""
    rng = random.Random(5)
    for _ in range(2000):
        texts = _random_texts(rng, rng.randrange(8))
        norms = [normalise(t) for t in texts]
        batch = NormalisedBatch.of(texts)
        assert batch.digests() == [digest_normalised(n) for n in norms]
        assert NormalisedBatch.of(norms, normalised=True).digests() == batch.digests()
        for i, norm in enumerate(norms):
            a, b = batch.words[i], batch.words[i + 1]
            spans = zip(batch.starts[a:b], batch.ends[a:b], strict=True)
            assert [bytes(batch.data[s:e]).decode() for s, e in spans] == norm.split()
        if texts:
            lo = rng.randrange(len(texts))
            hi = rng.randrange(lo, len(texts)) + 1
            part = batch.select(lo, hi)
            assert part.digests() == [digest_normalised(n) for n in norms[lo:hi]]


def test_batch_signatures_equal_text_by_text() -> None:
    """Signing a batch at once gives each text's own signature and shingle set,
    whatever its neighbours (sub-batch edges included)."""
    rng = random.Random(9)
    texts = [TextSynth(i).document(rng.randrange(1, 80)) for i in range(300)]
    texts += ["", "   ", "a", "x y", "Ünïcode wörds hère ok ok ok ok"]
    rng.shuffle(texts)
    hasher = MinHasher(num_perm=32, ngram=5, seed=3)
    sigs, sets = hasher.signatures_and_sets(texts)
    for i, text in enumerate(texts):
        one, one_set = hasher.signatures_and_sets([text])
        assert np.array_equal(one[0], sigs[i])
        assert one_set[0] == sets[i]
        assert np.frombuffer(sets[i], dtype=np.uint32).tolist() == shingle_hashes_reference(text, 5)


def test_signatures_equal_datasketch_affine32() -> None:
    texts = [TextSynth(i).document(120) for i in range(6)] + [
        "short text",
        "",
        "Ünïcode wörds here ok",
    ]
    hasher = MinHasher(num_perm=64, ngram=5, seed=7)
    sigs = hasher.signatures(texts)
    for text, sig in zip(texts, sigs, strict=False):
        hashes = shingle_hashes_reference(text, 5)
        ref = MinHash(num_perm=64, seed=7, scheme=SCHEME, hashfunc=lambda x: x)
        ref.update_batch(hashes)
        assert np.array_equal(ref.hashvalues, sig)


def test_estimates_track_exact_jaccard() -> None:
    rng = random.Random(11)
    hasher = MinHasher(num_perm=128, ngram=5)
    errors = []
    for i in range(60):
        base = TextSynth(100 + i).document(300)
        other = near_duplicate(base, rng.uniform(0.2, 0.95), rng)
        sig = hasher.signatures([base, other])
        est = float(np.mean(sig[0] == sig[1]))
        errors.append(est - shingle_jaccard(base, other))
    errors_arr = np.array(errors)
    # Std of one estimate is at most sqrt(0.25 / 128) ~ 0.044; the mean error shows bias.
    assert abs(errors_arr.mean()) < 0.02
    assert np.abs(errors_arr).max() < 0.15


def test_estimate_quality_matches_datasketch_default() -> None:
    rng = random.Random(5)
    hasher = MinHasher(num_perm=128, ngram=5)
    ours, theirs = [], []
    for i in range(40):
        base = TextSynth(300 + i).document(200)
        other = near_duplicate(base, 0.5, rng)
        exact = shingle_jaccard(base, other)
        sig = hasher.signatures([base, other])
        ours.append(abs(float(np.mean(sig[0] == sig[1])) - exact))
        a, b = MinHash(num_perm=128), MinHash(num_perm=128)
        a.update_batch([s.encode() for s in shingles(base)])
        b.update_batch([s.encode() for s in shingles(other)])
        theirs.append(abs(a.jaccard(b) - exact))
    assert np.mean(ours) < np.mean(theirs) + 0.02


@pytest.mark.parametrize(("num_perm", "seed"), [(128, 1), (64, 7), (256, 0), (16, 12345)])
def test_permutations_equal_datasketch(num_perm: int, seed: int) -> None:
    a, b = MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME).permutations
    mine_a, mine_b = affine32_permutations(num_perm, seed)
    assert np.array_equal(np.asarray(a, dtype=np.uint32), mine_a)
    assert np.array_equal(np.asarray(b, dtype=np.uint32), mine_b)


def test_near_dedup_candidates_equal_datasketch_lsh() -> None:
    """The band index finds exactly the candidates datasketch's MinHashLSH finds."""
    from datasketch import MinHashLSH

    from sdf_corpus.clean.config import DedupConfig
    from sdf_corpus.clean.dedup import NearDedup

    cfg = DedupConfig(threshold=0.0)  # every candidate is verified in, so matches = candidates
    rng = random.Random(9)
    base = [TextSynth(700 + i).document(120) for i in range(40)]
    texts = base + [
        near_duplicate(rng.choice(base), rng.choice((0.5, 0.7, 0.9)), rng) for _ in range(60)
    ]
    near = NearDedup(cfg)
    sigs = near.hasher.signatures(texts)
    lsh = MinHashLSH(threshold=0.5, num_perm=cfg.num_perm, params=(cfg.bands, cfg.rows))
    for i, sig in enumerate(sigs):
        expected = {str(k) for k in lsh.query(near.hasher.lean(sig))}
        keys = [sig.tobytes()[b * 4 * cfg.rows : (b + 1) * 4 * cfg.rows] for b in range(cfg.bands)]
        assert near._candidates(keys) == expected
        if near._one(f"t{i}", sig) is None:
            lsh.insert(f"t{i}", near.hasher.lean(sig))
