"""The report stage: what a run produced, against what it was asked for.

`build_report(run_dir)` reads the run directory (manifest, clean stats,
shards, rejects and, when present, the ledger) in one streaming pass and
returns every figure as a JSON-ready dict; `write_report` also writes
`report.json`, a self-contained `report.html` and the dataset card `README.md`,
and returns a terminal summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sdf_corpus.handoff.card import write_run_card
from sdf_corpus.report.figures import NAME_SHARE_THRESHOLD, sections
from sdf_corpus.report.scan import ScanLimits, scan_shards
from sdf_corpus.report.semantic import SemanticLimits
from sdf_corpus.report.sources import RunFiles, read_ledger, subject_names
from sdf_corpus.runfolder import RunFolder, write_json_atomic, write_text_atomic

__all__ = ["ScanLimits", "SemanticLimits", "build_report", "write_report"]


def build_report(
    run_dir: Path,
    *,
    limits: ScanLimits | None = None,
    name_threshold: float = NAME_SHARE_THRESHOLD,
    progress: bool = False,
    semantic: SemanticLimits | None = None,
    meaning: bool = True,
) -> dict[str, Any]:
    """Every figure of the report, as written to report.json; `meaning=False` leaves the
    meaning figures out (`semantic` is then null): no document is embedded."""
    from sdf_corpus.report.semantic_inputs import MeaningPass

    files = RunFiles.open(Path(run_dir))
    ledger = read_ledger(files.run_dir)
    total = int(files.manifest.get("totals", {}).get("documents", 0))
    subject = subject_names(ledger)
    folded = {n.casefold() for n in subject}
    excluded = [n for n in (ledger.excluded_names if ledger else []) if n.casefold() not in folded]
    watch = MeaningPass(files, ledger, semantic or SemanticLimits()) if meaning else None
    scan = scan_shards(
        files.shards,
        total,
        limits or ScanLimits(),
        excluded,
        progress=progress,
        subject_names=subject,
        observers=watch.observers if watch else (),
    )
    from sdf_corpus.report.judge import judge_figures

    report = sections(files, ledger, scan, name_threshold)
    report["judge"] = judge_figures(files.shards)
    report["semantic"] = watch.section() if watch else None
    from sdf_corpus.report.budget import budget_figures

    report["budget"] = budget_figures(files.run_dir)
    return report


def write_report(
    run_dir: Path,
    *,
    progress: bool = False,
    meaning: bool = True,
    semantic: SemanticLimits | None = None,
) -> str:
    """Write RUN_DIR/report.json and RUN_DIR/report.html; return the terminal summary."""
    from sdf_corpus.report.html import render_html
    from sdf_corpus.report.terminal import summary

    run = RunFolder(run_dir)
    report = build_report(run.root, progress=progress, meaning=meaning, semantic=semantic)
    write_json_atomic(run.report_json, report)
    write_text_atomic(run.report_html, render_html(report))
    # The card quotes report.json (judge summary), so it is written after it.
    write_run_card(run.root, run.shards())
    return summary(report) + f"\nreport: {run.report_html}, report.json and README.md"
