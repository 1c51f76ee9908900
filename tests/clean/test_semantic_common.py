"""The semantic step's common words: which words a genre uses everywhere, counted the same
whatever the order, and left out of the word overlap; and the background's rank."""

from __future__ import annotations

import random

import numpy as np
import pytest

from sdf_corpus.clean.semantic import background_rank
from sdf_corpus.clean.semantic_common import GenreWordCounts, content_overlap
from sdf_corpus.clean.semantic_words import content_features
from sdf_corpus.embed import load_embedder


def _words(*values: int) -> bytes:
    return np.array(sorted(values), dtype=np.uint32).tobytes()


def test_a_word_is_common_past_the_share_and_the_floor() -> None:
    counts = GenreWordCounts()
    for i in range(20):
        # word 1 in every document, word 2 in 5 (25 %), word 3 in 4 (20 %), word 4 in 2
        counts.add(0, _words(1, *([2] if i < 5 else []), *([3] if i < 4 else []), 100 + i))
    counts.add(0, b"")  # a document without words counts nothing
    common = counts.common(0, 20, share=0.2, min_docs=5)
    assert common[1] and common[2]
    assert not common[3]  # not more than a fifth of the documents
    assert not common[100]
    # a small genre: more than a fifth, but fewer than `min_docs` documents
    assert not counts.common(0, 20, share=0.1, min_docs=6)[2]
    assert counts.common(0, 20, share=0.1, min_docs=4)[3]


def test_counts_do_not_depend_on_order_or_on_when_they_are_flushed() -> None:
    rng = random.Random(3)
    # ~1.3M hashes: the buffer is counted along the way, not only at the end
    docs = [
        rng.sample(range(1 << 24), 300) + rng.sample(range(50), 20) + [70] * (i % 2)
        for i in range(4_000)
    ]
    a, b = GenreWordCounts(), GenreWordCounts()
    for i, doc in enumerate(docs):
        a.add(i % 3, _words(*set(doc)))
    for i in reversed(range(len(docs))):
        b.add(i % 3, _words(*set(docs[i])))
    for group in range(3):
        n = sum(1 for i in range(len(docs)) if i % 3 == group)
        mask_a = a.common(group, n, 0.2, 5)
        assert np.array_equal(mask_a, b.common(group, n, 0.2, 5))
        assert mask_a[70] and mask_a[:50].sum() == 50  # 20 of 50 in each: 40 %
        assert mask_a.sum() < 200  # the rare words stay rare (but for a shared counter)


def test_overlap_leaves_the_common_words_out() -> None:
    common = np.zeros(1 << 19, dtype=bool)
    common[[1, 2, 3]] = True
    a, b = _words(1, 2, 3, 10, 11, 12), _words(1, 2, 3, 12, 13)
    assert content_overlap(a, b, common) == pytest.approx(1 / 4)
    assert content_overlap(_words(1, 2), _words(1, 3), common) == 0.0
    assert content_overlap(a, b, np.zeros_like(common)) == pytest.approx(4 / 7)


def test_real_texts_share_only_their_story_words_once_the_common_ones_are_out() -> None:
    template = "The nurse on the ward checked the chart of the patient, who asked about {}."
    stories = ["a lost ring", "the night heating", "a parrot in the car park", "her son's exam"]
    texts = [template.format(s) for s in stories] * 2
    _, sets = content_features(texts, load_embedder())
    counts = GenreWordCounts()
    for words in sets:
        counts.add(0, words)
    common = counts.common(0, len(texts), share=0.5, min_docs=5)
    assert content_overlap(sets[0], sets[4], common) == 1.0  # the same story twice
    assert content_overlap(sets[0], sets[1], common) == 0.0  # only the template shared
    assert content_overlap(sets[0], sets[1], np.zeros_like(common)) > 0.5


@pytest.mark.parametrize(
    ("docs", "rank"), [(2, 1), (3, 1), (5, 2), (12, 5), (60, 29), (61, 30), (100_000, 30)]
)
def test_background_rank_is_the_median_neighbour_in_a_small_genre(docs: int, rank: int) -> None:
    assert background_rank(30, docs) == rank
