"""The idea pool in the estimate: its list requests priced in place of each job's own idea
stage, and the two side by side (`plan --estimate`; docs/cost.md).

A pool request is rendered as generation would render it (`ideas.prompt.pool_request`) for
`ideas.per_request` sample briefs with `ideas.show_taken` summaries shown; each idea is
expected to be as long as one item of a job's own idea list; REASK_SHARE of the briefs are
assumed to be asked again (an idea dropped as a repeat, or missing from the answer).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sdf_corpus.ideas.cells import cell_of
from sdf_corpus.ideas.prompt import LIST_ITEMS, pool_request
from sdf_corpus.plan.job import Job
from sdf_corpus.plan.planner import iter_jobs
from sdf_corpus.spec.genres import Stage
from sdf_corpus.spec.load import Corpus

__all__ = [
    "POOL_ASSUMPTION",
    "REASK_SHARE",
    "PoolFigures",
    "compare",
    "format_comparison",
    "pool_usage",
]

REASK_SHARE = 0.15
SUMMARY_CHARS = 160  # a taken idea's one-line summary (up to 28 words)
POOL_ASSUMPTION = (
    f"idea pool: one list request per ideas.per_request jobs, each idea as long as one item "
    f"of a job's own list, {REASK_SHARE:.0%} of briefs asked again, every request showing "
    "ideas.show_taken summaries"
)


@dataclass(frozen=True)
class PoolUsage:
    requests: int
    prompt_chars: float  # per request, uncached part
    prefix_chars: float  # per request, the genre's cached prefix
    output_tokens: float  # all requests


def pool_usage(
    corpus: Corpus, genre: str, stage: Stage, n: int, non_document_share: float
) -> PoolUsage:
    """What `n` jobs' ideas cost through the pool, for one genre."""
    spec = corpus.spec.ideas
    asked = n * (1 + REASK_SHARE)
    size = max(1, min(n, spec.per_request))
    jobs = _sample(corpus, genre, n, size)
    taken = ["x" * SUMMARY_CHARS] * spec.show_taken
    request = pool_request(corpus, stage, jobs, taken)
    per_idea = stage.max_tokens * non_document_share / LIST_ITEMS
    return PoolUsage(
        requests=math.ceil(asked / spec.per_request),
        prompt_chars=len(request.prompt) + len(request.system),
        prefix_chars=len(request.cache_prefix),
        output_tokens=asked * per_idea,
    )


def _sample(corpus: Corpus, genre: str, n: int, size: int) -> list[Job]:
    """Briefs as most requests will carry them: one cell's when the plan fills cells'
    requests (each principle shown once), else the genre's first jobs (mixed)."""
    principles = len(corpus.constitution.principles)
    if n < size * principles:
        return list(iter_jobs(corpus, {genre: size}))
    jobs = list(iter_jobs(corpus, {genre: size * principles}))
    cell = cell_of(jobs[0])
    return [job for job in jobs if cell_of(job) == cell][:size]


@dataclass(frozen=True)
class PoolFigures:
    """One side of the comparison: the idea stage's figures and the whole build's cost."""

    label: str
    idea_requests: int
    idea_output_tokens: float
    idea_cost_usd: float | None
    total_cost_usd: float | None
    kept_tokens: int
    # The same at the batch discount (`--batch` sends the pool's requests as batches too);
    # None where a stage's model has no batch API.
    idea_batch_usd: float | None = None
    total_batch_usd: float | None = None

    def per_kept_mtok(self, value: float | None) -> float | None:
        return None if value is None or not self.kept_tokens else value / self.kept_tokens * 1e6

    def as_dict(self) -> dict[str, Any]:
        return {
            "idea_requests": self.idea_requests,
            "idea_output_tokens": round(self.idea_output_tokens),
            "idea_output_tokens_per_kept_token": round(
                self.idea_output_tokens / self.kept_tokens, 4
            )
            if self.kept_tokens
            else None,
            "idea_cost_usd": _round(self.idea_cost_usd),
            "idea_usd_per_kept_mtok": _round(self.per_kept_mtok(self.idea_cost_usd)),
            "total_cost_usd": _round(self.total_cost_usd),
            "total_usd_per_kept_mtok": _round(self.per_kept_mtok(self.total_cost_usd)),
            "idea_batch_usd": _round(self.idea_batch_usd),
            "idea_batch_usd_per_kept_mtok": _round(self.per_kept_mtok(self.idea_batch_usd)),
            "total_batch_usd_per_kept_mtok": _round(self.per_kept_mtok(self.total_batch_usd)),
        }


def compare(corpus: Corpus, pooled: Any, own: Any) -> list[PoolFigures]:
    """The idea stage of two estimates of one plan, with the pool and without it."""
    from sdf_corpus.ideas.cells import idea_stage
    from sdf_corpus.plan.planner import budget_allocation

    provider = corpus.spec.backend.provider
    stages = {g: idea_stage(genre, provider) for g, genre in corpus.genres.items()}
    names = {(g, s.name) for g, s in stages.items() if s is not None}
    kept = sum(budget_allocation(corpus).tokens.values())
    return [
        _side(pooled.lines, {(g, f"{n} (pool)") for g, n in names}, kept, "with the pool"),
        _side(own.lines, names, kept, "each job its own"),
    ]


def _side(
    lines: list[Any], idea_stages: set[tuple[str, str]], kept: int, label: str
) -> PoolFigures:
    """The figures of an estimate's idea lines (`idea_stages`: (genre, line stage))."""
    ideas = [x for x in lines if (x.genre, x.stage) in idea_stages]
    return PoolFigures(
        label=label,
        idea_requests=sum(x.requests for x in ideas),
        idea_output_tokens=sum(x.output_tokens for x in ideas),
        idea_cost_usd=_sum(x.cost_usd for x in ideas),
        total_cost_usd=_sum(x.cost_usd for x in lines),
        kept_tokens=kept,
        idea_batch_usd=_sum(x.batch_cost_usd for x in ideas),
        total_batch_usd=_sum(x.batch_cost_usd for x in lines),
    )


def _sum(costs: Iterable[float | None]) -> float | None:
    """The total, or None when any part has no price."""
    values = list(costs)
    return None if None in values else float(sum(c for c in values if c is not None))


def format_comparison(sides: list[PoolFigures]) -> str:
    head = (
        "",
        "idea requests",
        "idea output tok",
        "idea $/kept Mtok",
        "total $/kept Mtok",
        "batch: idea",
        "batch: total",
    )
    rows = [head]
    for side in sides:
        rows.append(
            (
                side.label,
                f"{side.idea_requests:,}",
                f"{side.idea_output_tokens:,.0f}",
                _usd(side.per_kept_mtok(side.idea_cost_usd)),
                _usd(side.per_kept_mtok(side.total_cost_usd)),
                _usd(side.per_kept_mtok(side.idea_batch_usd)),
                _usd(side.per_kept_mtok(side.total_batch_usd)),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    out = [
        "idea stage with and without the pool (per million kept tokens; immediate prices, "
        "then with --batch, where the pool's requests are batched too):"
    ]
    for row in rows:
        cells = [row[0].ljust(widths[0])]
        cells += [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        out.append("  " + "  ".join(cells))
    return "\n".join(out)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _usd(value: float | None) -> str:
    return "n/a" if value is None else f"${value:,.2f}"
