"""The budget's figures for report.json: per genre target, kept, reserve and the
measured drop rate; how many rounds and waves the build took; kept / asked."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from sdf_corpus.runfolder import RunFolder, read_json_or_empty
from sdf_corpus.store import read_meta

__all__ = ["budget_figures", "budget_html"]


def budget_figures(run_dir: Path) -> dict[str, Any]:
    run = RunFolder(run_dir)
    manifest = read_json_or_empty(run.manifest)
    meta = read_meta(run.ledger)
    targets: dict[str, int] = meta.get("targets") or {}
    spec = meta.get("spec") or {}
    asked = int((spec.get("budget") or {}).get("tokens", 0)) if isinstance(spec, dict) else 0
    reserve = manifest.get("reserve", {})
    measured = (meta.get("budget_measured") or {}).get("genres", {})
    genres = {}
    for g in sorted(set(targets) | set(manifest.get("by_genre", {}))):
        held = manifest.get("by_genre", {}).get(g, {"docs": 0, "tokens": 0})
        kept_back = reserve.get("by_genre", {}).get(g, {"docs": 0, "tokens": 0})
        done = int((measured.get(g) or [0, 0])[0])
        docs = int(held["docs"]) + int(kept_back["docs"])
        genres[g] = {
            "target": int(targets.get(g, 0)),
            "kept": int(held["tokens"]),
            "reserve": int(kept_back["tokens"]),
            "drop_rate": round(1 - docs / done, 4) if done else None,
        }
    kept = int(manifest.get("totals", {}).get("tokens", 0))
    waves = len(meta.get("waves") or [])
    return {
        "asked": asked,
        "kept": kept,
        "reserve": int(reserve.get("totals", {}).get("tokens", 0)),
        "kept_to_asked": round(kept / asked, 4) if asked else None,
        "waves": waves,
        "genres": genres,
    }


def budget_html(figures: dict[str, Any] | None) -> str:
    """The report's Budget section: the totals, then one row per genre."""
    if not figures:
        return '<p class="muted">No budget recorded for this run.</p>'
    ratio = figures.get("kept_to_asked")
    head = (
        f"<p>Kept {figures['kept']:,} of {figures['asked']:,} asked tokens"
        f"{f' (kept/asked {ratio:.3f})' if ratio is not None else ''}; reserve "
        f"{figures['reserve']:,} tokens; {figures['waves']} wave(s) of the budget loop.</p>"
    )
    rows = "".join(
        f"<tr><td>{escape(g)}</td><td>{v['target']:,}</td><td>{v['kept']:,}</td>"
        f"<td>{v['reserve']:,}</td><td>"
        f"{'n/a' if v['drop_rate'] is None else format(v['drop_rate'], '.1%')}</td></tr>"
        for g, v in figures["genres"].items()
    )
    return (
        f"{head}<table><thead><tr><th>genre</th><th>target</th><th>kept</th>"
        f"<th>reserve</th><th>measured drop rate</th></tr></thead><tbody>{rows}</tbody></table>"
    )
