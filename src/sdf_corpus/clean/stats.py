"""Counts of the clean stage; the pipeline folds each worker chunk's counts into one.

The report stage reads only `clean_stats.json`, the `to_json()` of this object;
its format is documented in docs/clean.md.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CleanStats"]

# Stages that drop after the clean stage has finished, listed after its own stages.
_LATER_STAGES = ("judge",)


def _stage_order(key: str) -> tuple[bool, str]:
    return (key.split("/", 1)[0] in _LATER_STAGES, key)


@dataclass
class CleanStats:
    input_docs: int = 0
    input_tokens: int = 0
    kept_docs: int = 0
    kept_tokens: int = 0
    # "stage/reason" -> count; tokens are counted at the moment of the drop.
    dropped_docs: Counter[str] = field(default_factory=Counter)
    dropped_tokens: Counter[str] = field(default_factory=Counter)
    trimmed: Counter[str] = field(default_factory=Counter)  # filter name -> docs trimmed
    cluster_sizes: Counter[int] = field(default_factory=Counter)  # size -> clusters
    langdetect_calls: int = 0
    lang_prescreened: int = 0
    # Kept documents beyond the budget, moved to the run's reserve (sdf_corpus.budget).
    reserve_docs: int = 0
    reserve_tokens: int = 0
    timings: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))

    def drop(self, stage: str, reason: str, tokens: int) -> None:
        key = f"{stage}/{reason}"
        self.dropped_docs[key] += 1
        self.dropped_tokens[key] += tokens

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped_docs.values())

    def dropped_by_reason(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for key, n in self.dropped_docs.items():
            out[key.split("/", 1)[1]] += n
        return dict(out)

    def to_json(self) -> dict[str, Any]:
        by_stage: dict[str, dict[str, dict[str, int]]] = {}
        for key in sorted(self.dropped_docs, key=_stage_order):
            stage, reason = key.split("/", 1)
            by_stage.setdefault(stage, {})[reason] = {
                "docs": self.dropped_docs[key],
                "tokens": self.dropped_tokens[key],
            }
        return {
            "version": 1,
            "input": {"docs": self.input_docs, "tokens": self.input_tokens},
            "kept": {"docs": self.kept_docs, "tokens": self.kept_tokens},
            "dropped": {
                "docs": self.dropped_total,
                "tokens": sum(self.dropped_tokens.values()),
                "by_stage": by_stage,
            },
            "reserve": {"docs": self.reserve_docs, "tokens": self.reserve_tokens},
            "trimmed": dict(sorted(self.trimmed.items())),
            "near_dup_cluster_sizes": {str(k): v for k, v in sorted(self.cluster_sizes.items())},
            "language": {
                "langdetect_calls": self.langdetect_calls,
                "prescreened": self.lang_prescreened,
            },
            "timings_s": {k: round(v, 3) for k, v in sorted(self.timings.items())},
        }

    def drop_kept(self, stage: str, reason: str, docs: int, tokens: int) -> None:
        """Move kept documents to dropped, for a stage after cleaning (the judge)."""
        key = f"{stage}/{reason}"
        self.dropped_docs[key] += docs
        self.dropped_tokens[key] += tokens
        self.kept_docs -= docs
        self.kept_tokens -= tokens

    def to_reserve(self, docs: int, tokens: int) -> None:
        """Move kept documents to the reserve (the budget holds the shards at its target)."""
        self.reserve_docs += docs
        self.reserve_tokens += tokens
        self.kept_docs -= docs
        self.kept_tokens -= tokens

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CleanStats:
        """The stats a `to_json()` wrote (clean_stats.json), back as an object."""
        stats = cls(
            input_docs=int(data["input"]["docs"]),
            input_tokens=int(data["input"]["tokens"]),
            kept_docs=int(data["kept"]["docs"]),
            kept_tokens=int(data["kept"]["tokens"]),
            trimmed=Counter({k: int(v) for k, v in data.get("trimmed", {}).items()}),
            cluster_sizes=Counter(
                {int(k): int(v) for k, v in data.get("near_dup_cluster_sizes", {}).items()}
            ),
            langdetect_calls=int(data.get("language", {}).get("langdetect_calls", 0)),
            lang_prescreened=int(data.get("language", {}).get("prescreened", 0)),
            reserve_docs=int(data.get("reserve", {}).get("docs", 0)),
            reserve_tokens=int(data.get("reserve", {}).get("tokens", 0)),
            timings=defaultdict(float, data.get("timings_s", {})),
        )
        for stage, reasons in data["dropped"]["by_stage"].items():
            for reason, counts in reasons.items():
                stats.dropped_docs[f"{stage}/{reason}"] = int(counts["docs"])
                stats.dropped_tokens[f"{stage}/{reason}"] = int(counts["tokens"])
        return stats
