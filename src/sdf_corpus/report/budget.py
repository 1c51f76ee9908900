"""The budget's figures for report.json: per genre target, kept, reserve and the
measured drop rate; how many rounds and waves the build took; kept / asked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sdf_corpus.runfolder import RunFolder, read_json_or_empty
from sdf_corpus.store import read_meta

__all__ = ["budget_figures"]


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
