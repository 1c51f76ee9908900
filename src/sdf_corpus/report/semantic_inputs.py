"""What the meaning figures read besides the sample: the clean stage's semantic threshold,
and the clusters that stage removed (its `semantic_duplicate` rejects).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sdf_corpus.embed import Embedder, load_embedder
from sdf_corpus.report.ideapool import IdeaPoolFigures
from sdf_corpus.report.semantic import (
    DEFAULT_THRESHOLD,
    SemanticLimits,
    SemanticSample,
    embed_with,
    first_line,
    semantic_section,
)
from sdf_corpus.report.sources import LedgerFacts, RunFiles
from sdf_corpus.runfolder import iter_rejected

__all__ = ["FirstLines", "MeaningPass", "RemovedClusters", "read_removed", "semantic_threshold"]

SEMANTIC_REASON = "semantic_duplicate"
_MAX_TRACKED = 20_000  # kept documents whose removed members are listed (the rest: counted)


def _threshold_in(section: Any) -> float | None:
    """`semantic.threshold`, `semantic_threshold`, or either under `dedup`, in a settings dict."""
    if not isinstance(section, Mapping):
        return None
    semantic = section.get("semantic")
    for value in (
        semantic.get("threshold") if isinstance(semantic, Mapping) else None,
        section.get("semantic_threshold"),
    ):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return _threshold_in(section.get("dedup")) if "dedup" in section else None


def semantic_threshold(files: RunFiles, ledger: LedgerFacts | None) -> tuple[float, str]:
    """The cosine the clean stage merged at, and where it was read from: clean_stats.json
    (what the stage used), then manifest.json, then the spec's `clean:` section in the
    ledger; else the documented default."""
    sources = (
        ("clean_stats.json", files.clean_stats),
        ("manifest.json", files.manifest),
        ("the spec's clean section", ledger.clean if ledger else None),
    )
    for name, section in sources:
        value = _threshold_in(section)
        if value is not None:
            return value, name
    return DEFAULT_THRESHOLD, "the default: the run records no semantic threshold"


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
            text = str(row.get("text") or "")
            listed.append({"id": str(row.get("id") or ""), "first_line": first_line(text)})

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
            self.found[doc_id] = first_line(str(row.get("text") or ""), self.chars)


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
        by_genre = files.manifest.get("by_genre", {})
        genre_docs = {g: int(v.get("docs", 0)) for g, v in by_genre.items() if isinstance(v, dict)}
        self.sample = SemanticSample(embed_with(self._embedder, limits), genre_docs, limits)
        self.threshold = semantic_threshold(files, ledger)
        self.removed = read_removed(files, limits)
        self.lines = FirstLines(set(self.removed.largest()), limits.line_chars)
        self.pool = ledger.idea_pool if ledger else IdeaPoolFigures()

    @property
    def observers(self) -> tuple[Callable[[dict[str, Any]], None], ...]:
        return (self.sample.add, self.lines.add)

    def section(self) -> dict[str, Any]:
        threshold, source = self.threshold
        return semantic_section(
            self.sample,
            threshold,
            source,
            self.pool,
            self.removed.to_json(self.lines.found),
            self._embedder.name,
        )
