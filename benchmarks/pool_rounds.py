"""How many batch rounds the idea pool takes under `--batch` for a plan: width 1 against
`ideas.batch_width` (issue 28).

Counts each cell's jobs in the plan's round 0 (the planner's own jobs, as `plan` makes
them), then plays the fill's rounds per pool group (a genre's cells for one kind of AI):
every cell's full requests, `width` per round, then the group's remainders, `width` per
round. A round's refused briefs (re-asked in a later round) are the estimate's assumed
share (`pricing.pool.REASK_SHARE`, floored), until `ideas.max_asks`. Groups fill side by
side, so the pool takes as many rounds as its slowest group. An estimate of counts, not a
timing: each round is one batch turnaround (minutes to hours at the providers).

    python benchmarks/pool_rounds.py [corpora/sdf-350m.yaml] [--width 1 8 16]
"""

from __future__ import annotations

import argparse
import math
import statistics
from collections import Counter, defaultdict
from pathlib import Path

from _common import ROOT

from sdf_corpus.ideas.cells import cell_of, group_of, idea_stage
from sdf_corpus.plan.planner import budget_allocation, iter_jobs
from sdf_corpus.pricing.pool import REASK_SHARE
from sdf_corpus.spec.load import load_corpus


def _play(waiting: Counter[int], size: int, width: int, full: bool, max_asks: int) -> int:
    """Rounds until `waiting` (briefs by asks so far) is empty, or until fewer than a full
    request is left (`full`: a cell's phase; its rest joins the group's remainders)."""
    rounds = 0
    while waiting and (not full or sum(waiting.values()) >= size):
        total = sum(waiting.values())
        count = min(width, total // size) if full else min(width, math.ceil(total / size))
        sent = min(total, count * size)
        # Re-asked briefs first (they sit earlier in plan order), then fresh ones.
        taken: Counter[int] = Counter()
        for asks in sorted(waiting, reverse=True):
            take = min(waiting[asks], sent - sum(taken.values()))
            taken[asks] += take
        waiting -= taken
        back = math.floor(sent * REASK_SHARE)
        for asks in sorted(taken, reverse=True):  # the refused, spread over the asks sent
            share = min(back, taken[asks])
            if asks + 1 < max_asks and share:
                waiting[asks + 1] += share
            back -= share
        rounds += 1
    return rounds


def _group_rounds(cells: list[int], size: int, width: int, max_asks: int) -> int:
    """Cells side by side (the slowest sets the pace), then the group's remainders."""
    slowest, rest = 0, 0
    for n in cells:
        waiting = Counter({0: n})
        slowest = max(slowest, _play(waiting, size, width, True, max_asks))
        rest += sum(waiting.values())
    return slowest + _play(Counter({0: rest}), size, width, False, max_asks)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("spec", nargs="?", default=str(ROOT / "corpora" / "sdf-350m.yaml"))
    parser.add_argument("--width", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    corpus = load_corpus(Path(args.spec))
    provider, ideas = corpus.spec.backend.provider, corpus.spec.ideas
    counts = budget_allocation(corpus).jobs
    groups: dict[str, Counter[str]] = defaultdict(Counter)
    for job in iter_jobs(corpus, counts):
        if idea_stage(corpus.genres[job.genre], provider) is not None:
            groups[group_of(job)][cell_of(job)] += 1
    sizes = [n for cells in groups.values() for n in cells.values()]
    print(
        f"{args.spec}: {sum(sizes):,} pooled jobs in {len(sizes)} cells ({len(groups)} groups); "
        f"jobs per cell median {statistics.median(sizes):.0f}, max {max(sizes)}; "
        f"per_request {ideas.per_request}, re-asked share {REASK_SHARE:.0%}, "
        f"max_asks {ideas.max_asks}"
    )
    for width in args.width:
        rounds = [
            _group_rounds(list(c.values()), ideas.per_request, width, ideas.max_asks)
            for c in groups.values()
        ]
        print(
            f"width {width}: pool rounds (slowest group) {max(rounds)}; "
            f"per group median {statistics.median(rounds):.0f}"
        )


if __name__ == "__main__":
    main()
