"""What a run directory holds, read without its spec: manifest, clean stats, ledger, rejects.

A run made by `sdf-corpus clean` has no ledger; every ledger-backed figure is
then `None` and the report says why instead of failing.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdf_corpus.errors import InputError
from sdf_corpus.generate.ledger import Ledger
from sdf_corpus.io import shown
from sdf_corpus.runfolder import RunFolder, read_json, read_manifest

__all__ = [
    "LedgerFacts",
    "RunFiles",
    "read_ledger",
    "subject_names",
]

EXAMPLE_CHARS = 600


@dataclass
class RunFiles:
    run_dir: Path
    manifest: dict[str, Any]
    clean_stats: dict[str, Any] | None
    shards: list[Path]
    rejected: Path | None

    @classmethod
    def open(cls, run_dir: Path) -> RunFiles:
        run = RunFolder(run_dir)
        if not run.root.is_dir():
            raise InputError(
                shown(run.root), "no such run directory", "give the folder a build wrote"
            )
        manifest = read_manifest(run)
        # The report shows the file as written (a judge's later stages included).
        stats = read_json(run.clean_stats) if run.clean_stats.is_file() else None
        return cls(
            run.root,
            manifest,
            stats,
            run.shards(),
            run.rejected if run.rejected.is_file() else None,
        )


@dataclass
class LedgerFacts:
    """Everything the report takes from `ledger.sqlite`."""

    targets: dict[str, int] = field(default_factory=dict)
    principles: list[dict[str, Any]] = field(default_factory=list)
    ai_names: dict[str, str] = field(default_factory=dict)
    author_names: dict[str, str] = field(default_factory=dict)
    excluded_names: list[str] = field(default_factory=list)
    subject: dict[str, Any] = field(default_factory=dict)  # the spec's `subject:` section
    subject_shares: dict[str, float] = field(default_factory=dict)  # genre -> setting
    spec_name: str = ""
    totals: dict[str, Any] = field(default_factory=dict)
    spend_rows: list[dict[str, Any]] = field(default_factory=list)
    jobs_by_genre: dict[str, dict[str, int]] = field(default_factory=dict)
    failed_examples: list[dict[str, str]] = field(default_factory=list)


def _meta_json(db: sqlite3.Connection, key: str, default: Any) -> Any:
    row = db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    return default if row is None else json.loads(row[0])


def read_ledger(run_dir: Path) -> LedgerFacts | None:
    """The ledger's facts (only SELECTs: a report never changes a run), or None if absent."""
    path = Path(run_dir) / "ledger.sqlite"
    if not path.is_file():
        return None
    ledger = Ledger(path)
    try:
        db = ledger.db
        spec = _meta_json(db, "spec", {})
        facts = LedgerFacts(
            targets={k: int(v) for k, v in _meta_json(db, "targets", {}).items()},
            principles=list(_meta_json(db, "principles", [])),
            ai_names=dict(_meta_json(db, "ai_names", {})),
            author_names=dict(_meta_json(db, "author_names", {})),
            excluded_names=list(_meta_json(db, "excluded_names", [])),
            subject=dict(_meta_json(db, "subject", {})),
            subject_shares=dict(_meta_json(db, "subject_shares", {})),
            spec_name=str(spec.get("name", "")) if isinstance(spec, dict) else "",
            totals=_totals_dict(ledger),
            spend_rows=ledger.spend_by_stage(),
        )
        facts.jobs_by_genre = _jobs_by_genre(db)
        facts.failed_examples = _failed_examples(db)
        return facts
    finally:
        ledger.close()


def _totals_dict(ledger: Ledger) -> dict[str, Any]:
    t = ledger.totals()
    return {name: getattr(t, name) for name in t.__dataclass_fields__}


def _jobs_by_genre(db: sqlite3.Connection) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    rows = db.execute(
        "SELECT genre, status, COUNT(*) FROM jobs WHERE active=1 GROUP BY genre, status"
    )
    for genre, status, n in rows:
        out.setdefault(genre, {"planned": 0})[status] = n
        out[genre]["planned"] += n
    return out


def _failed_examples(db: sqlite3.Connection) -> list[dict[str, str]]:
    rows = db.execute(
        "SELECT id, genre, error FROM jobs WHERE active=1 AND status='failed' ORDER BY idx LIMIT 5"
    )
    return [{"id": i, "genre": g, "error": (e or "")[:EXAMPLE_CHARS]} for i, g, e in rows]


def subject_names(ledger: LedgerFacts | None) -> list[str]:
    """The subject's name and aliases as the run recorded them (none without a ledger)."""
    if ledger is None or not ledger.subject.get("name"):
        return []
    return list(dict.fromkeys([ledger.subject["name"], *ledger.subject.get("aliases", [])]))
