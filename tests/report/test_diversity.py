from __future__ import annotations

import math

import pytest

from sdf_corpus.report.diversity import (
    OpeningCounter,
    distinct_n,
    opening_of,
    repeated_phrases,
)
from sdf_corpus.report.figures import distribution


@pytest.mark.parametrize(
    ("text", "stock"),
    [
        ("# A headline\n\nIn a world where nothing works, we tried.", "in a world where"),
        ("Once upon a time, there was a little girl named Lily.", "once upon a time"),
        ("In today\u2019s fast-paced world, people rush.", "in today's fast-paced world"),
        ("The sun hung low in the sky over the harbour.", "the sun hung low"),
        ("The committee met on a Tuesday to discuss budgets.", None),
    ],
)
def test_stock_openings(text: str, stock: str | None) -> None:
    counter = OpeningCounter()
    counter.add(text)
    result = counter.result(1)
    assert [s["phrase"] for s in result["stock"]] == ([stock] if stock else [])


def test_opening_skips_headings() -> None:
    assert opening_of("# Title here\n\nThe river rose at dawn today.") == "the river rose at dawn"


def test_opening_counter_caps_memory_and_keeps_frequent() -> None:
    counter = OpeningCounter(cap=50)
    for i in range(500):
        counter.add(f"unique opening number {i} here")
        counter.add("Once upon a time there was a fox.")
    assert len(counter.counts) <= 51
    top = counter.result(1000)
    assert top["counts_are_lower_bounds"] is True
    assert top["top"][0]["opening"] == "once upon a time there"


def test_distinct_n() -> None:
    out = distinct_n(["a b a b", "a b c"])
    assert out["distinct_1"] == pytest.approx(3 / 7)
    assert out["distinct_2"] == pytest.approx(3 / 5)  # ab ba ab | ab bc
    assert distinct_n([])["distinct_1"] == 0.0


def test_repeated_phrases_count_documents_once() -> None:
    phrase = "the quick brown fox jumps over"
    texts = [f"{phrase} {phrase} and {i} more words" for i in range(3)] + ["nothing alike here"]
    top = repeated_phrases(texts, top=50)
    assert {"phrase": phrase, "docs": 3, "share": 0.75} in top
    assert max(p["docs"] for p in top) == 3  # a phrase twice in one document counts once


def test_distribution_entropy_and_flags() -> None:
    dist = distribution({"a": 50, "b": 25, "c": 25}, {"a": "Ava"}, threshold=0.3)
    assert dist["entropy_bits"] == pytest.approx(1.5)
    assert dist["max_entropy_bits"] == pytest.approx(math.log2(3), abs=1e-4)
    assert [r["name"] for r in dist["flagged"]] == ["Ava"]
