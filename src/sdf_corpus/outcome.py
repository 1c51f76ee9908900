"""A build's outcome: `BuildResult`, and in words what it made and, if it fell short, why.

The CLI prints these sentences after a build and exits non-zero (exit 6,
`IncompleteBuildError`) by the rules of docs/failures.md: the corpus ended
empty, short of its budget by more than the total bound (`budget.bounds`), or
with no document of a genre the plan gave a job, for any reason other than
--max-cost.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sdf_corpus.budget.bounds import TOTAL_TOLERANCE
from sdf_corpus.budget.bounds import short as below_bound
from sdf_corpus.errors import IncompleteBuildError
from sdf_corpus.generate.runner import GenerateResult
from sdf_corpus.pipeline import open_ledger
from sdf_corpus.plan.topup import MIX_TOLERANCE, Standing
from sdf_corpus.runfolder import RunFolder, iter_rejected, read_clean_stats
from sdf_corpus.spec.load import Corpus

__all__ = ["BuildResult", "explain", "incomplete_error"]


@dataclass
class BuildResult:
    rounds: int = 0
    generate: list[GenerateResult] = field(default_factory=list)
    kept_tokens: int = 0
    kept_documents: int = 0
    budget_tokens: int = 0
    # complete | max_cost | max_rounds | no_success | ambiguous_create | judge stops
    stopped: str = "complete"
    judge: Any = None
    postprocessed: bool = True  # False when the shards were already up to date
    standings: list[Standing] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # sentences for the summary
    # Genres whose target is too small for one document: the plan gives them no job
    # (and says so), so ending without a document of them is no miss.
    unplanned: list[str] = field(default_factory=list)
    reserve_tokens: int = 0  # kept beyond the budget, in the run's reserve
    reserve_documents: int = 0
    waves: int = 0  # plan extensions the closed budget loop made (all rounds)
    fill_passes: int = 0  # passes that sent what the cut in plan order still lacked

    def as_dict(self) -> dict[str, Any]:
        return {
            "rounds": self.rounds,
            "kept_tokens": self.kept_tokens,
            "kept_documents": self.kept_documents,
            "budget_tokens": self.budget_tokens,
            "stopped": self.stopped,
            "requests": sum(g.requests for g in self.generate),
            "judge_requests": self.judge.requests if self.judge else 0,
            "cleaned": self.postprocessed,
            "spent_usd": self.generate[-1].spent_usd if self.generate else 0.0,
            "reserve_tokens": self.reserve_tokens,
            "reserve_documents": self.reserve_documents,
            "waves": self.waves,
            "fill_passes": self.fill_passes,
        }

    @property
    def empty_genres(self) -> list[str]:
        """Genres the plan gave a job that ended with no document."""
        return [
            r.genre
            for r in self.standings
            if r.target > 0 and r.kept_docs == 0 and r.genre not in self.unplanned
        ]

    @property
    def short(self) -> bool:
        """Below the budget by more than its bound: 3 % or one (mean kept) document."""
        one = self.kept_tokens / self.kept_documents if self.kept_documents else 0.0
        return below_bound(self.kept_tokens, self.budget_tokens, TOTAL_TOLERANCE, one)

    @property
    def incomplete(self) -> bool:
        """Empty, short of the budget's bound, or a planned genre left at zero
        documents, for a reason other than --max-cost (docs/failures.md)."""
        if self.stopped == "max_cost":
            return False
        return self.kept_documents == 0 or self.short or bool(self.empty_genres)


def _stop_reason(corpus: Corpus, result: BuildResult) -> str:
    budget = corpus.spec.budget
    reasons = {
        "max_rounds": f"it used the {budget.max_rounds} round(s) budget.max_rounds allows for "
        "this spec; raise it (e.g. --set budget.max_rounds="
        f"{budget.max_rounds + 2}) and run build again to top up",
        "no_success": "the last round generated nothing (every job it tried failed), so no "
        f"top-up was planned; {_errors(corpus)}",
        "max_cost": "--max-cost (or budget.max_cost) stopped it; re-run with a higher limit",
        "ambiguous_create": "a batch create got no answer; re-run to adopt it",
    }
    return reasons.get(result.stopped, f"it stopped ({result.stopped})")


def _errors(corpus: Corpus) -> str:
    ledger = open_ledger(corpus)
    try:
        common = ledger.common_errors()
    finally:
        ledger.close()
    if not common:
        return "the ledger records no error messages"
    said = "; ".join(f"{n:,}x {message[:160]}" for message, n in common)
    return f"the provider said: {said}"


def _drops(corpus: Corpus) -> str:
    stats = read_clean_stats(RunFolder(corpus.run_dir))
    if stats is None or not stats.dropped_total:
        return ""
    dropped, kept = stats.dropped_total, stats.kept_docs
    reasons = sorted(((n, name) for name, n in stats.dropped_docs.items()), reverse=True)
    top = ", ".join(f"{name} {n:,}" for n, name in reasons[:3])
    return f"; cleaning dropped {dropped:,} of {dropped + kept:,} documents ({top})"


def _genre_drops(corpus: Corpus, genres: set[str]) -> dict[str, Counter[str]]:
    """Drops by stage/reason for the named genres, streamed from rejected/."""
    path = RunFolder(corpus.run_dir).rejected
    out: dict[str, Counter[str]] = {}
    if not path.is_file():
        return out
    for row in iter_rejected(path):
        genre = row.get("genre")
        if genre in genres:
            out.setdefault(genre, Counter())[f"{row.get('stage')}/{row.get('reason')}"] += 1
    return out


def explain(corpus: Corpus, result: BuildResult) -> list[str]:
    """Sentences for the end of a build: the outcome, genres off their target, notes."""
    budget = result.budget_tokens
    share = result.kept_tokens / budget if budget else 0.0
    lines = [
        f"outcome: {result.kept_documents:,} documents, {result.kept_tokens:,} of "
        f"{budget:,} budget tokens ({share:.0%}, kept/asked {share:.3f}) after "
        f"{result.rounds} round(s), {result.waves} wave(s) and {result.fill_passes} fill "
        "pass(es); reserve "
        f"{result.reserve_documents:,} documents, {result.reserve_tokens:,} tokens."
    ]
    if result.kept_documents == 0:
        lines.append(f"  The corpus is empty: {_stop_reason(corpus, result)}{_drops(corpus)}.")
    elif result.short:
        lines.append(
            f"  It is short of the budget: {_stop_reason(corpus, result)}{_drops(corpus)}."
        )
    short = [
        r for r in result.standings if r.target and r.kept_tokens < r.target * (1 - MIX_TOLERANCE)
    ]
    drops = _genre_drops(corpus, {r.genre for r in short}) if short else {}
    for r in short:
        why = "no document of it survived" if r.kept_docs == 0 else f"{r.relative:+.0%}"
        top = drops.get(r.genre, Counter()).most_common(3)
        dropped = "; dropped: " + ", ".join(f"{k} {n:,}" for k, n in top) if top else ""
        lines.append(
            f"  {r.genre} fell short of its mix target: {r.kept_tokens:,} of "
            f"{r.target:,} tokens ({why}; {r.done_jobs} jobs done{dropped})."
        )
    lines += [f"  Note: {note}." for note in result.notes]
    return lines


def incomplete_error(corpus: Corpus, result: BuildResult) -> IncompleteBuildError | None:
    """The error that makes an empty or short build exit 6, or None."""
    if not result.incomplete:
        return None
    if result.kept_documents == 0:
        what = "ended with no documents"
    elif result.short:
        what = f"ended short: {result.kept_tokens:,} of {result.budget_tokens:,} tokens"
    else:
        what = f"ended with no document of {', '.join(result.empty_genres)}"
    return IncompleteBuildError(
        f"build of {corpus.spec.name} {what}, because {_stop_reason(corpus, result)}"
    )
