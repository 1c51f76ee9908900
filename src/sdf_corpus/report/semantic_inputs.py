"""What the meaning figures read besides the sample: the clean stage's semantic settings,
and the clusters that stage removed (its `semantic_duplicate` rejects).

The report clusters at its own threshold on the embedder's document cosine: the clean
stage's step measures something else (name-insensitive word vectors, with a margin over
the genre's background and a word overlap), so its threshold is shown, not reused.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sdf_corpus.embed import Embedder, load_embedder
from sdf_corpus.report.ideapool import IdeaPoolFigures
from sdf_corpus.report.semantic import (
    SemanticLimits,
    SemanticSample,
    embed_with,
    line_of,
    semantic_section,
)
from sdf_corpus.report.sources import LedgerFacts, RunFiles
from sdf_corpus.runfolder import RunFolder, iter_rejected
from sdf_corpus.runfolder.reserve import reserve_files
from sdf_corpus.runfolder.rows import iter_rows

__all__ = [
    "FirstLines",
    "MeaningPass",
    "RemovedClusters",
    "clean_semantic_settings",
    "read_removed",
]

SEMANTIC_REASON = "semantic_duplicate"
_MAX_TRACKED = 20_000  # kept documents whose removed members are listed (the rest: counted)


def clean_semantic_settings(files: RunFiles, ledger: LedgerFacts | None) -> dict[str, Any] | None:
    """The clean stage's semantic settings as the run recorded them: manifest.json (what
    the stage ran with), else the spec's `clean.semantic` in the ledger; None if neither."""
    for section in (
        files.manifest.get("semantic"),
        (ledger.clean if ledger else {}).get("semantic"),
    ):
        if isinstance(section, Mapping):
            return dict(section)
    return None


@dataclass
class RemovedClusters:
    """The clean stage's semantic drops, grouped by the kept document each repeats."""

    limits: SemanticLimits
    dropped: Counter[str] = field(default_factory=Counter)
    genre: dict[str, str] = field(default_factory=dict)
    members: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def add(self, row: Mapping[str, Any]) -> None:
        kept = str(row.get("duplicate_of") or "")
        if row.get("reason") != SEMANTIC_REASON or not kept:
            return
        self.dropped[kept] += 1
        if kept not in self.members and len(self.members) >= _MAX_TRACKED:
            return
        self.genre.setdefault(kept, str(row.get("genre") or ""))
        listed = self.members.setdefault(kept, [])
        if len(listed) < self.limits.members_shown:
            listed.append({"id": str(row.get("id") or ""), "first_line": line_of(row)})

    def largest(self) -> list[str]:
        ranked = sorted(self.dropped.items(), key=lambda kv: (-kv[1], kv[0]))
        return [k for k, _ in ranked[: self.limits.clusters_shown]]

    def to_json(self, lines: Mapping[str, str]) -> dict[str, Any]:
        """Totals, and the largest groups with the kept document's first line."""
        return {
            "dropped": sum(self.dropped.values()),
            "documents_repeated": len(self.dropped),
            "largest": self._largest_rows(lines),
        }

    def _largest_rows(self, lines: Mapping[str, str]) -> list[dict[str, Any]]:
        return [
            {
                "genre": self.genre.get(kept, ""),
                "kept": {"id": kept, "first_line": lines.get(kept)},
                "dropped": self.dropped[kept],
                "members": self.members.get(kept, []),
            }
            for kept in self.largest()
        ]


def _has_semantic_drops(files: RunFiles) -> bool:
    by_stage = (files.clean_stats or {}).get("dropped", {}).get("by_stage", {})
    return any(SEMANTIC_REASON in reasons for reasons in by_stage.values())


def read_removed(files: RunFiles, limits: SemanticLimits) -> RemovedClusters:
    """One pass over rejected.jsonl, skipped when clean_stats.json records no semantic drop."""
    removed = RemovedClusters(limits)
    if files.rejected is not None and _has_semantic_drops(files):
        for row in iter_rejected(files.rejected):
            removed.add(row)
    return removed


@dataclass
class FirstLines:
    """Collects the first line of a few wanted documents during the shard pass."""

    wanted: set[str]
    chars: int = 120
    found: dict[str, str] = field(default_factory=dict)

    def add(self, row: Mapping[str, Any]) -> None:
        doc_id = str(row.get("id") or "")
        if doc_id in self.wanted and doc_id not in self.found:
            self.found[doc_id] = line_of(row, self.chars)


class MeaningPass:
    """The meaning figures' part of the report's one shard pass: what it watches
    (`observers`), and the section it makes of them afterwards."""

    def __init__(
        self,
        files: RunFiles,
        ledger: LedgerFacts | None,
        limits: SemanticLimits,
        embedder: Embedder | None = None,
    ) -> None:
        self._embedder = embedder or load_embedder()
        self._run = RunFolder(files.run_dir)
        by_genre = files.manifest.get("by_genre", {})
        genre_docs = {g: int(v.get("docs", 0)) for g, v in by_genre.items() if isinstance(v, dict)}
        self.sample = SemanticSample(embed_with(self._embedder, limits), genre_docs, limits)
        self.clean_settings = clean_semantic_settings(files, ledger)
        self.removed = read_removed(files, limits)
        self.lines = FirstLines(set(self.removed.largest()), limits.line_chars)
        self.pool = ledger.idea_pool if ledger else IdeaPoolFigures()

    @property
    def observers(self) -> tuple[Callable[[dict[str, Any]], None], ...]:
        return (self.sample.add, self.lines.add)

    def section(self) -> dict[str, Any]:
        if set(self.lines.wanted) - set(self.lines.found):
            # A kept document the budget moved to the reserve is still the one repeated.
            for row in iter_rows(reserve_files(self._run), columns=["id", "text", "format"]):
                self.lines.add(row)
        return semantic_section(
            self.sample,
            self.clean_settings,
            self.pool,
            self.removed.to_json(self.lines.found),
            self._embedder.name,
        )
