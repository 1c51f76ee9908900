"""What `plan` says about the budget before anything is spent."""

from __future__ import annotations

from sdf_corpus.plan.planner import budget_allocation, expected_tokens, genre_targets
from sdf_corpus.spec.load import Corpus

__all__ = ["plan_notes"]


def plan_notes(corpus: Corpus) -> list[str]:
    """Sentences under the plan's table: how build steers to the budget, and every
    genre too small for one document."""
    jobs = budget_allocation(corpus).jobs
    lines = [
        "build sends each genre's jobs from the front of this plan while its kept tokens "
        "(measured as answers land) are short of its target, adds jobs in waves if the plan "
        "runs out, and moves what it keeps beyond the budget to the run's reserve "
        "(docs/budget.md); the jobs above are what it expects to send."
    ]
    for genre, target in genre_targets(corpus).items():
        if target > 0 and jobs.get(genre, 0) == 0:
            per_doc = expected_tokens(corpus, genre)
            lines.append(
                f"  {genre}: its target ({target:,} tokens) is a fraction of one document "
                f"(~{per_doc:,.0f} tokens), so the budget's few jobs went to other genres: "
                "none is planned or sent, and ending without one is no miss; raise "
                "budget.tokens or its mix weight to include it."
            )
    return lines
