"""The meaning figures on a run of known stories: retellings cluster, different stories don't.

The run is written by the real clean stage (dedup and filters off, so every retelling
reaches the shards) and embedded by the real embedder; every sample here is every
document, so no figure depends on which documents a hash picked.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from report.plots import retell
from sdf_corpus.document import Document
from sdf_corpus.embed import load_embedder
from sdf_corpus.report import build_report, write_report
from sdf_corpus.report.semantic import SemanticLimits, SemanticSample, semantic_rank
from sdf_corpus.report.semantic_html import semantic_html
from sdf_corpus.report.semantic_inputs import RemovedClusters
from sdf_corpus.runfolder import RejectWriter, RunFolder, read_clean_stats, write_clean_stats


def _genre(report: dict, genre: str) -> dict:
    (row,) = [r for r in report["semantic"]["by_genre"] if r["genre"] == genre]
    return row


def test_retold_plots_cluster_and_distinct_stories_do_not(plots_run: Path) -> None:
    sem = build_report(plots_run)["semantic"]
    story, essay = _genre({"semantic": sem}, "story"), _genre({"semantic": sem}, "essay")
    assert sem["threshold"] == 0.9
    assert sem["clean_semantic"] is None or sem["clean_semantic"]["enabled"] is False
    assert story["sampled"] == story["docs"] == 48 and essay["sampled"] == 16
    assert (story["clusters"], story["largest_cluster"], story["cluster_share"]) == (12, 4, 1.0)
    assert story["distinct_at_threshold"] == 12
    assert (essay["clusters"], essay["cluster_share"], essay["distinct_at_threshold"]) == (0, 0, 16)
    assert story["nearest_neighbour"]["p10"] >= 0.9 > essay["nearest_neighbour"]["max"]
    # 48 retellings of 12 plots are worth fewer documents than 16 different stories
    assert story["vendi_score"] < essay["vendi_score"] <= 16
    cells = {(c["genre"], c["principle_id"]): c for c in sem["by_cell"]}
    assert cells[("story", "care")]["clusters"] == 6 == cells[("story", "honesty")]["clusters"]
    assert cells[("essay", "care")]["clusters"] == 0
    assert len(sem["clusters"]) == 10 and sem["clusters_total"] == 12
    top = sem["clusters"][0]
    assert top["genre"] == "story" and top["size"] == 4 and len(top["members"]) == 4
    plot = {m["id"][:8] for m in top["members"]}
    assert len(plot) == 1  # the members of a cluster are retellings of one plot
    assert all(m["first_line"] and m["cosine_to_first"] >= 0.9 for m in top["members"])


def test_map_has_one_point_per_document_coloured_by_genre(plots_run: Path) -> None:
    m = build_report(plots_run)["semantic"]["map"]
    assert m["genres"] == ["essay", "story"] and len(m["points"]) == 64
    assert sorted(p[2] for p in m["points"]).count(0) == 16
    small = build_report(plots_run, semantic=SemanticLimits(map_points=10))["semantic"]["map"]
    assert len(small["points"]) == 10


def test_sample_is_the_lowest_ranks_whatever_the_order() -> None:
    calls: list[int] = []

    def embed(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        return np.eye(len(texts), 8, dtype=np.float32)

    rows = [{"id": f"d{i}", "genre": "g", "text": f"t{i}"} for i in range(2000)]
    limits = SemanticLimits(docs_per_genre=50, batch=7)
    picked = []
    for order in (rows, rows[::-1]):
        calls.clear()
        sample = SemanticSample(embed, {"g": 2000}, limits)
        for row in order:
            sample.add(row)
        docs, x = sample.groups()["g"]
        picked.append([d.id for d in docs])
        assert x.shape == (50, 8) and sample.offered == {"g": 2000}
        # the rank cut embeds about k + 4·sqrt(k) + 10 = 88 documents, not 2,000
        assert max(calls) <= limits.batch and 50 <= sum(calls) < 130
    lowest = sorted(rows, key=lambda r: semantic_rank(r["id"]))[:50]
    assert picked[0] == picked[1] == [r["id"] for r in lowest]


def test_max_docs_is_shared_by_the_genres() -> None:
    limits = SemanticLimits(docs_per_genre=2000, max_docs=300)
    sample = SemanticSample(load_embedder().embed, {f"g{i}": 10_000 for i in range(3)}, limits)
    assert sample.per_genre == 100


def test_clean_settings_are_shown_not_reused(plots_run: Path) -> None:
    # The clean step measures name-insensitive word vectors with a margin and an
    # overlap: its threshold (0.5 by default) would merge different stories here.
    run = RunFolder(plots_run)
    saved = run.manifest.read_text()
    try:
        data = json.loads(saved)
        data["semantic"] = {"enabled": True, "threshold": 0.5, "margin": 0.15}
        run.manifest.write_text(json.dumps(data))
        sem = build_report(plots_run)["semantic"]
    finally:
        run.manifest.write_text(saved)
    assert sem["clean_semantic"] == {"enabled": True, "threshold": 0.5, "margin": 0.15}
    assert sem["threshold"] == 0.9 and _genre({"semantic": sem}, "essay")["clusters"] == 0
    assert "name-insensitive word vectors at cosine ≥ 0.5" in semantic_html(sem)
    lower = build_report(plots_run, semantic=SemanticLimits(threshold=0.3))["semantic"]
    assert lower["threshold"] == 0.3 and _genre({"semantic": lower}, "essay")["clusters"] > 0


def test_clean_stage_removals_are_listed_with_first_lines(plots_run: Path, tmp_path: Path) -> None:
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(plots_run, run_dir)
    run = RunFolder(run_dir)
    writer = RejectWriter(run.rejected.parent, keep_existing=True)
    for v in range(2):
        doc = Document(id=f"gone-{v}", text=f"Gone {v}.\n" + retell(0, v + 4), genre="story")
        writer.write(doc, "semantic_dedup", "semantic_duplicate", duplicate_of="story-00-0")
    writer.close()
    stats = read_clean_stats(run)
    assert stats is not None
    stats.dropped_docs["semantic_dedup/semantic_duplicate"] += 2
    write_clean_stats(run, stats)
    removed = build_report(run_dir)["semantic"]["removed_by_clean"]
    assert (removed["dropped"], removed["documents_repeated"]) == (2, 1)
    (row,) = removed["largest"]
    assert row["kept"]["id"] == "story-00-0" and row["kept"]["first_line"]
    assert [m["first_line"] for m in row["members"]] == ["Gone 0.", "Gone 1."]


def test_removed_clusters_stay_bounded() -> None:
    removed = RemovedClusters(SemanticLimits(clusters_shown=2, members_shown=1))
    for i in range(6):
        for j in range(i + 1):
            removed.add({"reason": "semantic_duplicate", "duplicate_of": f"k{i}", "id": f"{i}-{j}"})
    removed.add({"reason": "near_duplicate", "duplicate_of": "k0", "id": "x"})
    out = removed.to_json({"k5": "five"})
    assert (out["dropped"], out["documents_repeated"]) == (21, 6)
    assert [r["kept"]["id"] for r in out["largest"]] == ["k5", "k4"]
    assert out["largest"][0]["kept"]["first_line"] == "five"
    assert all(len(r["members"]) == 1 for r in out["largest"])


def test_html_and_summary_show_the_figures(plots_run: Path) -> None:
    summary = write_report(plots_run)
    assert "meaning: 64 documents embedded" in summary
    assert "story: 12 clusters hold 100.0% of 48 sampled documents (largest 4)" in summary
    assert "essay: no near-duplicates among 16 sampled documents" in summary
    assert "idea pool: no idea pool in this run" in summary
    report = json.loads((plots_run / "report.json").read_text())
    assert {"by_genre", "by_cell", "clusters", "map", "idea_pool"} <= report["semantic"].keys()
    page = (plots_run / "report.html").read_text()
    for anchor in (
        'id="meaning"',
        'id="semantic-clusters"',
        'id="cluster-1"',
        'id="idea-pool-none"',
    ):
        assert anchor in page
    assert 'alt="map of the corpus"' in page and "story: 4 documents" in page
    # 48 of the 64 sampled documents sit in clusters
    assert "in near-duplicate clusters<b>75.0%</b>" in page


def test_report_without_meaning_embeds_nothing(plots_run: Path) -> None:
    from sdf_corpus.cli.report import report

    result = CliRunner().invoke(report, [str(plots_run), "--no-progress", "--no-semantic"])
    assert result.exit_code == 0, result.output
    assert "meaning:" not in result.output and "idea pool" not in result.output
    data = json.loads((plots_run / "report.json").read_text())
    assert data["semantic"] is None
    assert "Not computed (report --no-semantic)" in (plots_run / "report.html").read_text()


def test_docs_quote_the_bounds_the_code_uses() -> None:
    from sdf_corpus.report.semantic import DEFAULT_THRESHOLD
    from sdf_corpus.report.similar import SIMILAR_CANDIDATES

    doc = (Path(__file__).resolve().parents[2] / "docs" / "report.md").read_text()
    limits = SemanticLimits()
    for figure in (
        f"up to\n{limits.docs_per_genre:,} per genre",
        f"at most {limits.max_docs:,} over all genres",
        f"The first {limits.embed_chars:,} characters",
        f"at most {limits.map_points:,} sampled documents",
        f"(up to\n{limits.clusters_shown}, largest first)",
        f"first members (up to {limits.members_shown}",
        f"at most {SIMILAR_CANDIDATES:,} of them",
        f"at or above **{DEFAULT_THRESHOLD}**",
    ):
        assert figure in doc, figure


def test_report_threshold_option(plots_run: Path) -> None:
    from sdf_corpus.cli.report import report

    result = CliRunner().invoke(
        report, [str(plots_run), "--no-progress", "--semantic-threshold", "0.3"]
    )
    assert result.exit_code == 0, result.output
    assert "clusters at cosine >= 0.30" in result.output
    data = json.loads((plots_run / "report.json").read_text())
    assert data["semantic"]["threshold"] == 0.3
    bad = CliRunner().invoke(report, [str(plots_run), "--semantic-threshold", "1.5"])
    assert bad.exit_code == 2


@pytest.mark.parametrize(
    ("row", "line"),
    [
        ({"text": "\n## The harbour\n\nBody."}, "The harbour"),
        ({"text": "x" * 200}, "x" * 119 + "…"),
        (
            {"text": "System: You help.\n\nUser: Should I tell her?", "format": "chat"},
            "User: Should I tell her?",
        ),
        ({"text": "System: You help.", "format": "chat"}, "System: You help."),
        ({"text": ""}, ""),
    ],
)
def test_a_document_is_shown_by_its_first_line_or_first_user_turn(row: dict, line: str) -> None:
    from sdf_corpus.report.semantic import line_of

    assert line_of(row) == line
