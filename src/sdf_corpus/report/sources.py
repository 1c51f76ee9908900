"""What a run directory holds, read without its spec: manifest, clean stats, ledger, rejects.

A run made by `sdf-corpus clean` has no ledger; every ledger-backed figure is
then `None` and the report says why instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdf_corpus.errors import InputError
from sdf_corpus.io import shown
from sdf_corpus.report.ideapool import IdeaPoolFigures, pool_from_rows
from sdf_corpus.runfolder import RunFolder, read_json, read_manifest
from sdf_corpus.store import Store, stages_held

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
    reused_chains: list[dict[str, Any]] = field(default_factory=list)
    clean: dict[str, Any] = field(default_factory=dict)  # the spec's `clean:` section
    idea_pool: IdeaPoolFigures = field(default_factory=IdeaPoolFigures)


def read_ledger(run_dir: Path) -> LedgerFacts | None:
    """The ledger's facts (read-only: a report never changes a run), or None if absent."""
    path = RunFolder(run_dir).ledger
    if not path.is_file():
        return None
    ledger = Store(path, readonly=True)
    try:
        spec = ledger.meta_json("spec", {})
        totals = ledger.totals()
        return LedgerFacts(
            targets={k: int(v) for k, v in ledger.meta_json("targets", {}).items()},
            principles=list(ledger.meta_json("principles", [])),
            ai_names=dict(ledger.meta_json("ai_names", {})),
            author_names=dict(ledger.meta_json("author_names", {})),
            excluded_names=list(ledger.meta_json("excluded_names", [])),
            subject=dict(ledger.meta_json("subject", {})),
            subject_shares=dict(ledger.meta_json("subject_shares", {})),
            spec_name=str(spec.get("name", "")) if isinstance(spec, dict) else "",
            totals={name: getattr(totals, name) for name in totals.__dataclass_fields__},
            spend_rows=ledger.spend_by_stage(),
            jobs_by_genre=ledger.jobs_by_genre(),
            failed_examples=[
                {**row, "error": row["error"][:EXAMPLE_CHARS]} for row in ledger.failed_examples()
            ],
            reused_chains=reused_chains(ledger),
            clean=dict(spec.get("clean") or {}) if isinstance(spec, dict) else {},
            idea_pool=_idea_pool(ledger),
        )
    finally:
        ledger.close()


def reused_chains(ledger: Store) -> list[dict[str, Any]]:
    """Genres whose documents stop short of stages their jobs also ran (the rewrite
    switched off after a build with it): those documents are the very drafts the
    other build rewrote, so the two corpora differ by that stage alone."""
    chains = ledger.meta_json("stage_chains", {})
    out = []
    for genre, stage, jobs in stages_held(ledger):
        if isinstance(chains, dict) and genre in chains and stage not in chains[genre]:
            out.append({"genre": genre, "left_out": stage, "documents": jobs})
    return out


def _idea_pool(ledger: Store) -> IdeaPoolFigures:
    """The pool's figures per cell, read through the store's `idea_pool_by_cell()`
    (rows of genre, principle_id, asked, kept, dropped_too_close; none without a pool).
    A store without that query (before the pool existed) means no pool."""
    query = getattr(ledger, "idea_pool_by_cell", None)
    return pool_from_rows(query()) if callable(query) else IdeaPoolFigures()


def subject_names(ledger: LedgerFacts | None) -> list[str]:
    """The subject's name and aliases as the run recorded them (none without a ledger)."""
    if ledger is None or not ledger.subject.get("name"):
        return []
    return list(dict.fromkeys([ledger.subject["name"], *ledger.subject.get("aliases", [])]))
