"""What a plan will generate, computed by walking every job (no job is kept in memory)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sdf_corpus.library import library_dir
from sdf_corpus.plan.planner import budget_allocation, genre_targets, iter_jobs, mean_length
from sdf_corpus.spec.load import Corpus

__all__ = ["PlanSummary", "summarise_plan"]


@dataclass
class GenreLine:
    weight: float
    target: int  # budget share: what `report` compares the corpus against
    setting: float = 0.0  # the genre's subject_share
    about: str = ""  # the genre's declared `about`
    jobs: int = 0
    tokens: int = 0  # what the planned jobs are expected to add after cleaning
    target_tokens_sum: int = 0
    subject_jobs: int = 0
    cells: set[str] = field(default_factory=set)

    def realised(self) -> float:
        return self.subject_jobs / self.jobs if self.jobs else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "weight": self.weight,
            "jobs": self.jobs,
            "target_tokens": self.target,
            "tokens": self.target,  # the key scripts read before target/expected were split
            "expected_tokens": self.tokens,
            "mean_length": round(self.target_tokens_sum / self.jobs) if self.jobs else 0,
            "cells_covered": len(self.cells),
            "about": self.about,
            "subject_jobs": self.subject_jobs,
            "cast_jobs": self.jobs - self.subject_jobs,
            # the genre's setting, and what the planned jobs realise (within 2 points)
            "subject_share": self.setting,
            "subject_share_realised": round(self.realised(), 4),
        }


@dataclass
class PlanSummary:
    corpus: str
    budget_tokens: int
    genres: dict[str, GenreLine]
    principles: int
    personas: int
    principle_titles: dict[str, str]  # id -> title, in constitution order
    ai_names: Counter[str]  # cast characters only: the subject is meant to recur
    library: dict[str, int]
    subject: dict[str, str] = field(default_factory=dict)

    @property
    def jobs(self) -> int:
        return sum(g.jobs for g in self.genres.values())

    @property
    def cells_covered(self) -> int:
        return sum(len(g.cells) for g in self.genres.values())

    @property
    def cells_total(self) -> int:
        return self.principles * len(self.genres)

    def max_name_share(self) -> float:
        used = sum(self.ai_names.values())
        return max(self.ai_names.values()) / used if used else 0.0

    def as_dict(self) -> dict[str, Any]:
        top = self.ai_names.most_common(1)
        return {
            "corpus": self.corpus,
            "jobs": self.jobs,
            "target_tokens": sum(g.target for g in self.genres.values()),
            "expected_tokens": sum(g.tokens for g in self.genres.values()),
            "budget_tokens": self.budget_tokens,
            "genres": {name: line.as_dict() for name, line in self.genres.items()},
            "principles": self.principles,
            "principle_titles": dict(self.principle_titles),
            "personas": self.personas,
            "cells_covered": self.cells_covered,
            "cells_total": self.cells_total,
            "subject": self.subject,
            "subject_jobs": sum(g.subject_jobs for g in self.genres.values()),
            "ai_names_used": len(self.ai_names),
            "top_ai_name": {"name": top[0][0], "share": round(self.max_name_share(), 4)}
            if top
            else None,
            "library": self.library,
        }


def summarise_plan(corpus: Corpus) -> PlanSummary:
    allocation = budget_allocation(corpus)
    weights = corpus.weights()
    targets = genre_targets(corpus)
    lines = {
        g: GenreLine(
            weight=weights[g],
            target=targets[g],
            setting=corpus.genres[g].share(),
            about=corpus.genres[g].who if "ai" in corpus.genres[g].uses else "",
            tokens=allocation.tokens[g],
        )
        for g in allocation.jobs
    }
    cap = {
        g: mean_length(corpus, g) if corpus.spec.backend.provider == "local" else None
        for g in allocation.jobs
    }
    names = {p.id: p.name for p in corpus.personas.ai}
    ai_names: Counter[str] = Counter()
    for job in iter_jobs(corpus, allocation.jobs):
        line = lines[job.genre]
        line.jobs += 1
        line.target_tokens_sum += cap[job.genre] or job.target_tokens
        line.cells.add(job.principle_id)
        if job.about == "subject":
            line.subject_jobs += 1
        elif job.ai_id:
            ai_names[names[job.ai_id]] += 1
    return PlanSummary(
        corpus=corpus.spec.name,
        budget_tokens=corpus.spec.budget.tokens,
        genres=lines,
        principles=len(corpus.constitution.principles),
        personas=len(corpus.personas.ai),
        principle_titles={p.id: p.title for p in corpus.constitution.principles},
        ai_names=ai_names,
        library=_library_counts(corpus),
        subject={"name": corpus.spec.subject.name, "developer": corpus.spec.subject.developer},
    )


def _library_counts(corpus: Corpus) -> dict[str, int]:
    return {
        "genres_available": len(list(library_dir("genres").glob("*.yaml"))),
        "principles": len(corpus.constitution.principles),
        "ai_personas": len(corpus.personas.ai),
        "authors": len(corpus.personas.authors),
        "audiences": len(corpus.personas.audiences),
    }


def format_table(summary: PlanSummary) -> str:
    rows = [
        ("genre", "weight", "jobs", "target tokens", "expected", "mean len", "cells", "subject")
    ]
    for name, line in summary.genres.items():
        d = line.as_dict()
        rows.append(
            (
                name,
                f"{line.weight:g}",
                f"{d['jobs']:,}",
                f"{d['target_tokens']:,}",
                f"{d['expected_tokens']:,}",
                f"{d['mean_length']:,}",
                f"{d['cells_covered']}/{summary.principles}",
                f"{line.realised():.0%} (set {line.setting:.0%})",
            )
        )
    total = summary.as_dict()
    rows.append(
        (
            "TOTAL",
            "",
            f"{total['jobs']:,}",
            f"{total['target_tokens']:,}",
            f"{total['expected_tokens']:,}",
            "",
            f"{total['cells_covered']}/{total['cells_total']}",
            f"{total['subject_jobs'] / max(1, total['jobs']):.0%}",
        )
    )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        numbers = zip(row[1:], widths[1:], strict=True)
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in numbers]
        lines.append("  ".join(cells))
        if n == 0 or n == len(rows) - 2:
            lines.append("  ".join("-" * w for w in widths))
    top = total["top_ai_name"]
    lines.append(
        f"{summary.principles} principles, {summary.personas} cast AI characters "
        f"({total['ai_names_used']} used; most frequent {top['name']} at {top['share']:.1%} "
        "of cast jobs)"
        if top
        else f"{summary.principles} principles"
    )
    lines.append("target: the genre's share of the budget, what `report` compares against")
    lines.append("expected: what the planned jobs should add after cleaning")
    lines.append("principles (id: title; `inspect --principle` takes either):")
    width = max((len(pid) for pid in summary.principle_titles), default=0)
    lines += [f"  {pid:<{width}}  {title}" for pid, title in summary.principle_titles.items()]
    lines.append(
        f"subject: {summary.subject['name']} by {summary.subject['developer']} "
        f"({total['subject_jobs']:,} jobs; set it with --set subject.name=NAME)"
    )
    return "\n".join(lines)
