"""The door out of the budget loop after a clean: hold the shards at the budget.

The clean stage keeps every document that passes; this step keeps in the shards
the deterministic, stratified set that lands on the targets (`select`), moves
the rest to the run's reserve (`runfolder.reserve`), and records what every
genre's finished jobs really kept, shards and reserve together, for the next
loop to start from. A later build at a larger budget cleans every finished job
again, so the reserve's documents are the first to fill it, before anything new
is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sdf_corpus.budget.bounds import GENRE_TOLERANCE, TOTAL_TOLERANCE, short
from sdf_corpus.budget.cut import record_open
from sdf_corpus.budget.select import Candidate, Gap, select
from sdf_corpus.budget.yields import record_measured
from sdf_corpus.plan.planner import genre_targets
from sdf_corpus.plan.topup import Standing
from sdf_corpus.runfolder import RunFolder, read_clean_stats, write_clean_stats, write_manifest
from sdf_corpus.runfolder.reserve import move_to_reserve, shard_tokens
from sdf_corpus.spec.load import Corpus
from sdf_corpus.store import Store

__all__ = ["hold_budget", "needs_more", "with_reserve"]


def hold_budget(corpus: Corpus, store: Store) -> dict[str, Any]:
    """Move what the shards hold beyond the budget to the reserve; returns the
    manifest's `reserve` entry. The genres left open are recorded (`cut.record_open`)."""
    run = RunFolder(corpus.run_dir)
    rows = {i: (g, int(n)) for i, g, n in shard_tokens(run)}
    docs = list(_plan_order(store.plan_states(), rows))
    chosen = select(docs, genre_targets(corpus), corpus.spec.budget.tokens)
    record_open(corpus, store, chosen.open)
    manifest = move_to_reserve(run, chosen.reserve)
    reserve = manifest["reserve"]
    stats = read_clean_stats(run)
    if stats is not None:  # written with the manifest by the clean stage
        stats.to_reserve(reserve["totals"]["documents"], reserve["totals"]["tokens"])
        write_clean_stats(run, stats)
    write_manifest(run, manifest)  # last: the folder is complete again
    kept = {g: v["tokens"] for g, v in with_reserve(manifest).items()}
    record_measured(store, kept)
    return dict(reserve)


def _plan_order(
    states: Iterable[tuple[str, str, str]], rows: Mapping[str, tuple[str, int]]
) -> Iterable[Candidate | Gap]:
    """The shards' documents in plan order, with a `Gap` for each job not sent yet;
    documents of no planned job (user text) after them."""
    seen: set[str] = set()
    for job_id, genre, status in states:
        if status == "pending":
            yield Gap(genre)
        elif job_id in rows:
            seen.add(job_id)
            yield Candidate(job_id, *rows[job_id])
    yield from (Candidate(i, g, n) for i, (g, n) in rows.items() if i not in seen)


def with_reserve(manifest: dict[str, Any]) -> dict[str, dict[str, int]]:
    """The manifest's by_genre table with each genre's reserve added."""
    table = {
        g: {"docs": int(v["docs"]), "tokens": int(v["tokens"])}
        for g, v in manifest.get("by_genre", {}).items()
    }
    for g, v in manifest.get("reserve", {}).get("by_genre", {}).items():
        entry = table.setdefault(g, {"docs": 0, "tokens": 0})
        entry["docs"] += int(v["docs"])
        entry["tokens"] += int(v["tokens"])
    return table


def needs_more(rows: Sequence[Standing], budget: int, unplanned: Sequence[str] = ()) -> bool:
    """Whether what the run holds (shards and reserve) is short of the budget or of a
    genre's target by more than its bound: only then is another round worth sending.
    A genre the plan gives no job (too small for one document) is not waited for."""
    docs = sum(r.kept_docs for r in rows)
    total = sum(r.kept_tokens for r in rows)
    one = total / docs if docs else 0.0
    if docs == 0 or short(total, budget, TOTAL_TOLERANCE, one):
        return True
    for r in rows:
        if r.genre in unplanned:
            continue
        mean = r.kept_tokens / r.kept_docs if r.kept_docs else 0.0
        if r.target > 0 and (
            r.kept_docs == 0 or short(r.kept_tokens, r.target, GENRE_TOLERANCE, mean)
        ):
            return True
    return False
