"""The idea pool's figures: from the store's rows to report.json, html and the summary,
and "no idea pool in this run" when there are none."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdf_corpus.report import build_report
from sdf_corpus.report.ideapool import IdeaPoolFigures, pool_from_rows
from sdf_corpus.report.semantic_html import semantic_html
from sdf_corpus.report.terminal import semantic_lines


def test_idea_pool_figures_and_their_absence() -> None:
    pool = pool_from_rows(
        [
            {
                "genre": "story",
                "principle_id": "care",
                "asked": 20,
                "kept": 9,
                "dropped_too_close": 8,
            },
            {
                "genre": "story",
                "principle_id": "care",
                "asked": 10,
                "kept": 6,
                "dropped_too_close": 3,
            },
            {"genre": "essay", "principle_id": "care", "asked": 5, "kept": 5},
            {"genre": "", "principle_id": "x", "asked": 99},
        ]
    )
    data = pool.to_json()
    assert data["present"] and data["total"] == {
        "asked": 35,
        "kept": 20,
        "dropped_too_close": 11,
        "kept_share": round(20 / 35, 4),
    }
    assert [c["genre"] for c in data["by_cell"]] == ["essay", "story"]
    section = {"idea_pool": data}
    assert "35 ideas asked for, 20 kept, 11 dropped as too close" in _pool_line(section)
    empty = IdeaPoolFigures().to_json()
    assert not empty["present"] and "no idea pool in this run" in _pool_line({"idea_pool": empty})


def _pool_line(extra: dict) -> str:
    sec = {
        "threshold": 0.9,
        "clean_semantic": None,
        "sample": {"docs": 0, "method": "m"},
        "by_genre": [],
        "by_cell": [],
        "clusters": [],
        "clusters_total": 0,
        "removed_by_clean": {"dropped": 0, "documents_repeated": 0, "largest": []},
        "map": {"points": [], "genres": [], "explained": [0.0, 0.0]},
        "embedder": "e",
        **extra,
    }
    html = semantic_html(sec)
    assert 'id="idea-pool"' in html
    return "\n".join(semantic_lines(sec)) + html


def test_pool_figures_reach_the_genre_and_cell_rows(
    plots_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    import sdf_corpus.report as report_module
    from sdf_corpus.report.sources import LedgerFacts, _idea_pool

    rows = [
        {"genre": "story", "principle_id": "care", "asked": 30, "kept": 24, "dropped_too_close": 6},
        {"genre": "story", "principle_id": "honesty", "asked": 40, "kept": 24},
    ]
    # the store's query, when it has one, feeds the figures; a store without it means no pool
    pool = _idea_pool(SimpleNamespace(idea_pool_by_cell=lambda: rows))  # type: ignore[arg-type]
    assert not _idea_pool(SimpleNamespace()).present  # type: ignore[arg-type]
    monkeypatch.setattr(report_module, "read_ledger", lambda _: LedgerFacts(idea_pool=pool))
    sem = build_report(plots_run)["semantic"]
    genres = {r["genre"]: r for r in sem["by_genre"]}
    assert genres["story"]["ideas"] == {
        "asked": 70,
        "kept": 48,
        "dropped_too_close": 6,
        "kept_share": 0.6857,
    }
    assert genres["essay"]["ideas"] is None
    cells = {(c["genre"], c["principle_id"]): c["ideas"] for c in sem["by_cell"]}
    assert cells[("story", "care")]["dropped_too_close"] == 6
    html = semantic_html(sem)
    assert "ideas asked for" in html and 'id="idea-pool-none"' not in html
    summary = "\n".join(semantic_lines(sem))
    assert "idea pool: 70 ideas asked for, 48 kept, 6 dropped as too close" in summary
