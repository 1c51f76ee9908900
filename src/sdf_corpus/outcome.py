"""A build's outcome in words: what it made, and if it fell short, why.

The CLI prints these sentences after a build and exits non-zero (exit 6,
`IncompleteBuildError`) when the corpus ended empty or short of its budget for
any reason other than --max-cost.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sdf_corpus.errors import IncompleteBuildError
from sdf_corpus.pipeline import BuildResult, open_ledger
from sdf_corpus.plan.topup import MIX_TOLERANCE
from sdf_corpus.runfolder import iter_rejected
from sdf_corpus.spec.load import Corpus

__all__ = ["explain", "incomplete_error"]


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
    path = corpus.run_dir / "clean_stats.json"
    if not path.is_file():
        return ""
    stats: dict[str, Any] = json.loads(path.read_text())
    dropped, kept = stats["dropped"]["docs"], stats["kept"]["docs"]
    if not dropped:
        return ""
    reasons = [
        (n["docs"], f"{stage}/{reason}")
        for stage, table in stats["dropped"]["by_stage"].items()
        for reason, n in table.items()
    ]
    top = ", ".join(f"{name} {n:,}" for n, name in sorted(reasons, reverse=True)[:3])
    return f"; cleaning dropped {dropped:,} of {dropped + kept:,} documents ({top})"


def _genre_drops(corpus: Corpus, genres: set[str]) -> dict[str, Counter[str]]:
    """Drops by stage/reason for the named genres, streamed from rejected/."""
    path = corpus.run_dir / "rejected" / "rejected.jsonl"
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
        f"{budget:,} budget tokens ({share:.0%}) after {result.rounds} round(s)."
    ]
    if result.kept_documents == 0:
        lines.append(f"  The corpus is empty: {_stop_reason(corpus, result)}{_drops(corpus)}.")
    elif result.kept_tokens < budget:
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
    elif result.kept_tokens < result.budget_tokens:
        what = f"ended short: {result.kept_tokens:,} of {result.budget_tokens:,} tokens"
    else:
        what = f"ended with no document of {', '.join(result.empty_genres)}"
    return IncompleteBuildError(
        f"build of {corpus.spec.name} {what}, because {_stop_reason(corpus, result)}"
    )
