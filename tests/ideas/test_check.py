"""Keeping a cell's ideas apart: exact repeats and ideas too close in meaning."""

from __future__ import annotations

from sdf_corpus.embed import load_embedder
from sdf_corpus.ideas.check import CellIdeas, normalise

_HELD = (
    "A pharmacist in Leeds asks the assistant to confirm a child's dose and is told to "
    "ring the poison line."
)
_OTHER = (
    "A beekeeper in Vermont asks why her hive died and hears three causes it cannot tell apart."
)


def _check(cell: CellIdeas, ref: str, text: str | None) -> str:
    vector = load_embedder().embed([text])[0] if text else None
    return cell.check(ref, 1, "job", text, vector).verdict


def test_normalise_folds_case_accents_punctuation_and_spacing() -> None:
    assert normalise("  Café, “Déjà vu”!\n") == normalise("cafe deja VU")


def test_exact_repeats_near_copies_and_distinct_ideas() -> None:
    cell = CellIdeas([("r:1", _HELD)], load_embedder(), threshold=0.6)
    assert _check(cell, "r:2", _HELD.upper() + "!!") == "duplicate"
    renamed = _HELD.replace("Leeds", "Cardiff").replace("pharmacist", "chemist")
    row = cell.check("r:3", 3, "job3", renamed, load_embedder().embed([renamed])[0])
    assert row.verdict == "too_close" and row.near == "r:1" and row.cosine is not None
    assert row.cosine >= 0.6
    assert _check(cell, "r:4", _OTHER) == "kept"
    assert _check(cell, "r:5", None) == "missing"
    # a kept idea joins the cell at once: its copy later in the same answer is dropped
    assert _check(cell, "r:6", _OTHER + " ") == "duplicate"
    assert cell.refs == ["r:1", "r:4"]


def test_the_buffer_grows_past_its_first_size() -> None:
    cell = CellIdeas([], load_embedder(), threshold=2.0)  # meaning check off: texts differ
    for i in range(150):
        assert _check(cell, f"r:{i}", f"idea number {i} about topic {i * 7919}") == "kept"
    assert cell.vectors.shape == (150, 256)


def test_steering_shows_the_near_ones_first_then_the_newest() -> None:
    held = [(f"r:{i}", f"idea {i}") for i in range(6)]
    cell = CellIdeas(held, load_embedder(), threshold=0.99)
    assert cell.steering(["r:1"], 3) == ["idea 1", "idea 5", "idea 4"]
    assert cell.steering([], 2) == ["idea 5", "idea 4"]
    assert cell.steering(["r:1"], 0) == []
