"""Planning rounds: which jobs a run's plan holds, kept in step with its ledger.

Round 0 is the budget's allocation; every top-up round records the job counts
it asked for, so the same jobs are derived again from the spec on resume. Each
round continues every genre's job numbers where the rounds before it stopped,
and the plan index runs on across rounds. `budget.max_rounds` counts the rounds
since the spec last changed, so a rebuild after an edit tops up again.

A wave (`extend_plan`) is a round the closed budget loop adds from inside the
generation loop when a genre has used the front of its plan and still needs
tokens (`sdf_corpus.budget`); waves are recorded like rounds (so the same jobs
are derived again on resume) but do not count against `budget.max_rounds`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Literal

from sdf_corpus.ideas.cells import slice_key
from sdf_corpus.plan.chains import adopt_legacy_ids, refresh_chains
from sdf_corpus.plan.job import Job
from sdf_corpus.plan.planner import budget_allocation, genre_targets, iter_jobs
from sdf_corpus.plan.shard import Shard
from sdf_corpus.plan.topup import Standing, size_top_up
from sdf_corpus.spec.load import Corpus
from sdf_corpus.spec.personas import SUBJECT_ID
from sdf_corpus.store import Store

__all__ = ["TopUp", "extend_plan", "plan_top_up", "sync_plan"]

TopUp = Literal["planned", "enough", "max_rounds"]


def sync_plan(
    corpus: Corpus,
    store: Store,
    counts: Mapping[str, int] | None = None,
    shard: Shard | None = None,
) -> int:
    """Make the ledger's active jobs exactly the jobs the current spec derives:
    round 0 from the current budget (so raising it adds jobs and lowering it sets
    jobs aside, never regenerating one), then the recorded top-up rounds.
    `counts` (jobs per genre) replaces the budget's allocation: probe sets are
    sized by count, not by tokens. With `shard`, only that slice's jobs (a
    --shard ledger). Returns the number of active jobs."""
    first = dict(counts) if counts else budget_allocation(corpus).jobs
    store.add_round(0, first)
    recorded = store.rounds()
    if store.get_meta("rounds_spec") != corpus.spec_hash():
        # A changed spec starts its own count of top-up rounds (budget.max_rounds).
        store.set_meta("rounds_spec", corpus.spec_hash())
        store.set_meta("rounds_from", str(max(r for r, _ in recorded) + 1))
    _record_run_facts(corpus, store)
    # Round 0 as computed here, not as read back: the plan flows down, not round trip.
    rounds = [(0, first), *((r, c) for r, c in recorded if r > 0)]
    # Stage keys (plan/chains.py): an old ledger's jobs move to their new ids once,
    # and a genre whose stages changed has its finished jobs walked again.
    adopt_legacy_ids(corpus, store, _all_jobs(corpus, rounds))
    refresh_chains(corpus, store)
    jobs = _all_jobs(corpus, rounds)
    if shard is not None:
        # With the idea pool, a slice owns whole groups of cells (ideas.cells.slice_key).
        jobs = (job for job in jobs if shard.owns(slice_key(corpus, job)))
    return store.sync_jobs(jobs)


def plan_top_up(corpus: Corpus, store: Store, rows: list[Standing]) -> TopUp:
    """Record one more round sized per genre from each genre's own shortfall, unless
    no genre is short ("enough") or budget.max_rounds is used up ("max_rounds").
    The round's jobs join the plan at the next `sync_plan`."""
    counts = size_top_up(corpus, rows, corpus.spec.budget.tokens)
    if not counts:
        return "enough"
    rounds = store.rounds()
    first = int(store.get_meta("rounds_from") or 1)
    waves = set(_waves(store))
    used = sum(1 for r, _ in rounds if r >= first and r not in waves)
    if 1 + used >= corpus.spec.budget.max_rounds:
        return "max_rounds"
    store.add_round(max(r for r, _ in rounds) + 1, counts)
    return "planned"


def extend_plan(
    corpus: Corpus, store: Store, counts: Mapping[str, int], shard: Shard | None = None
) -> list[Job]:
    """Add one wave of `counts` jobs per genre at the end of the plan, in one
    transaction (several --workers may extend at once); returns the new jobs this
    process owns (all, or `shard`'s slice), already pending in the ledger."""
    with store.transaction(immediate=True):
        rounds = [(r, c) for r, c in store.rounds()]
        done: dict[str, int] = {}
        index = 0
        for _, recorded in rounds:
            for g, n in recorded.items():
                if g in corpus.genres:
                    done[g] = done.get(g, 0) + n
                    index += n
        round_no = max((r for r, _ in rounds), default=0) + 1
        store.add_round(round_no, dict(counts))
        store.set_meta("waves", json.dumps([*_waves(store), round_no]))
        first = sum(n for r, c in rounds if r == 0 for g, n in c.items() if g in corpus.genres)
        jobs = iter_jobs(
            corpus,
            counts,
            round_no=round_no,
            start_index=index,
            done_per_genre=done,
            after_first=first,
        )
        mine = [job for job in jobs if shard is None or shard.owns(job.id)]
        store.add_jobs(mine)
    return mine


def _waves(store: Store) -> list[int]:
    return [int(r) for r in json.loads(store.get_meta("waves") or "[]")]


def _all_jobs(corpus: Corpus, rounds: Sequence[tuple[int, Mapping[str, int]]]) -> Iterator[Job]:
    done: dict[str, int] = {}
    index = 0
    first: int | None = None  # the first round's size: later rounds index by (genre, k)
    for round_no, recorded in rounds:
        counts = {g: n for g, n in recorded.items() if g in corpus.genres}
        yield from iter_jobs(
            corpus,
            counts,
            round_no=round_no,
            start_index=index,
            done_per_genre=dict(done),
            after_first=first,
        )
        first = sum(counts.values()) if first is None else first
        for g, n in counts.items():
            done[g] = done.get(g, 0) + n
        index += sum(counts.values())


def _record_run_facts(corpus: Corpus, store: Store) -> None:
    """What the report needs to read a run without its spec: targets and names."""
    facts = {
        "spec_hash": corpus.spec_hash(),
        "spec": corpus.spec.model_dump_json(),
        "targets": json.dumps(genre_targets(corpus)),
        "weights": json.dumps(corpus.weights()),
        "principles": json.dumps(
            [
                {"id": p.id, "title": p.title, "section": p.section}
                for p in corpus.constitution.principles
            ]
        ),
        "ai_names": json.dumps(
            {SUBJECT_ID: corpus.spec.subject.name, **{p.id: p.name for p in corpus.personas.ai}}
        ),
        "subject": corpus.spec.subject.model_dump_json(),
        "subject_shares": json.dumps({n: g.share() for n, g in corpus.genres.items()}),
        "author_names": json.dumps({p.id: p.name for p in corpus.personas.authors}),
        "excluded_names": json.dumps(corpus.spec.excluded_names),
        # The dataset card names the prompts each genre was generated with.
        "genre_hashes": json.dumps({name: g.fingerprint() for name, g in corpus.genres.items()}),
    }
    for key, value in facts.items():
        store.set_meta(key, value)
