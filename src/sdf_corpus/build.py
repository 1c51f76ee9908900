"""`sdf-corpus build`: generate → clean → [judge] → top up, until the budget is met.

The orchestrator holds the run's one `Store` open for the whole build and hands
it to every stage; the plan's numbers (targets, rounds) flow down from
`sdf_corpus.plan` and never make a round trip through the ledger. Each stage is
a function of `sdf_corpus.pipeline`; planning rounds are `sdf_corpus.plan.rounds`.
"""

from __future__ import annotations

import dataclasses
import json

from sdf_corpus.budget.cut import open_genres
from sdf_corpus.budget.loop import extend_open
from sdf_corpus.budget.reserve import hold_budget, needs_more, with_reserve
from sdf_corpus.errors import InputError
from sdf_corpus.generate.runner import GenerateResult, RunOptions
from sdf_corpus.outcome import BuildResult
from sdf_corpus.pipeline import clean_run, generate, judge_and_apply, open_ledger
from sdf_corpus.plan.planner import budget_allocation, genre_targets
from sdf_corpus.plan.rounds import plan_top_up
from sdf_corpus.plan.topup import standings
from sdf_corpus.runfolder import RunFolder, read_clean_stats, read_manifest
from sdf_corpus.spec.load import Corpus
from sdf_corpus.store import Store

__all__ = ["FILL_PASSES", "BuildResult", "build"]

# Passes after a round's first that send what the cut in plan order still lacks (a
# genre whose walk found no document to stop at: semantic or judge drops the streaming
# estimate missed, a gap a --workers process left); they add no planning round.
FILL_PASSES = 4


def build(
    corpus: Corpus,
    options: RunOptions,
    *,
    retry_failed: bool = False,
    batch: bool = False,
    workers: int = 1,
) -> BuildResult:
    """Generate, clean, and top up until the cleaned corpus meets the budget and the
    mix (or `budget.max_rounds` is reached, a round succeeds at nothing, or
    --max-cost stops it). A provider that keeps refusing raises ProviderStoppedError."""
    result = BuildResult(budget_tokens=corpus.spec.budget.tokens)
    # Jobs are sent while each genre's kept tokens fall short (sdf_corpus.budget).
    options = dataclasses.replace(options, budget=True)
    targets = genre_targets(corpus)
    result.unplanned = [g for g, n in budget_allocation(corpus).jobs.items() if n == 0]
    store = open_ledger(corpus)
    fills = 0
    try:
        while True:
            first = result.rounds == 0 and fills == 0
            gen = generate(
                corpus,
                dataclasses.replace(options, fill=fills > 0),
                retry_failed=retry_failed and first,
                batch=batch,
                # A fill pass runs in one process: --workers processes do not extend
                # the plan (the waves and the pool's requests for them stay in order).
                workers=workers if fills == 0 else 1,
                store=store,
            )
            result.generate.append(gen)
            if not _postprocess(corpus, store, options, result):
                return result
            if fills < FILL_PASSES and _fill_again(store, gen, result, first=fills == 0):
                fills += 1
                result.fill_passes += 1
                if batch:  # a batch pass does not extend the plan itself
                    extend_open(corpus, store, set(open_genres(store)) - set(result.unplanned))
                continue
            fills = 0
            result.rounds += 1
            if not _top_up(corpus, store, result, gen, targets):
                return result
    finally:
        store.close()


def _fill_again(store: Store, gen: GenerateResult, result: BuildResult, *, first: bool) -> bool:
    """Whether the cut left a genre open (`budget.select`) and another pass may close
    it: the pass before finished, succeeded at some job unless all it tried failed, and,
    unless it was the round's first, finished a job."""
    if gen.stopped != "complete" or not (first or gen.jobs_done):
        return False
    if gen.jobs_failed and not gen.jobs_done:  # another pass would repeat the failures
        return False
    return bool(set(open_genres(store)) - set(result.unplanned))


def _top_up(
    corpus: Corpus,
    store: Store,
    result: BuildResult,
    gen: GenerateResult,
    targets: dict[str, int],
) -> bool:
    """Record where the round left the corpus; plan another round if it is worth it."""
    manifest = read_manifest(RunFolder(corpus.run_dir))
    reserve = manifest.get("reserve", {}).get("totals", {})
    result.reserve_tokens = int(reserve.get("tokens", 0))
    result.reserve_documents = int(reserve.get("documents", 0))
    result.waves = len(json.loads(store.get_meta("waves") or "[]"))
    done = store.done_by_genre()
    result.standings = standings(targets, manifest.get("by_genre", {}), done)
    if gen.stopped != "complete":
        result.stopped = gen.stopped
        return False
    if gen.jobs_failed and not gen.jobs_done:
        # Another round would only repeat the failures (and their cost).
        result.stopped = "no_success"
        return False
    # The reserve counts: a genre it covers needs no top-up round.
    held = standings(targets, with_reserve(manifest), done)
    if not needs_more(held, corpus.spec.budget.tokens, result.unplanned):
        return False
    step = plan_top_up(corpus, store, held)
    if step == "max_rounds":
        result.stopped = "max_rounds"
    return step == "planned"


def _postprocess(corpus: Corpus, store: Store, options: RunOptions, result: BuildResult) -> bool:
    """Clean (and judge) the generated documents, unless nothing changed since the
    last time: a finished build re-run does no work. False if the judge stopped."""
    fingerprint, run = _fingerprint(corpus, store), RunFolder(corpus.run_dir)
    # Both files, or the shards are made again: a build must not report from half a run folder.
    if (
        store.get_meta("postprocessed") == fingerprint
        and run.manifest.is_file()
        and run.clean_stats.is_file()
    ):
        result.kept_tokens, result.kept_documents = _kept(corpus)
        result.postprocessed = False
        return True
    undone = _judge_undone(corpus)
    clean_run(corpus, progress=options.progress, store=store)
    if undone:
        result.notes.append(undone)
    complete = True
    if corpus.spec.judge.enabled:
        judged = judge_and_apply(corpus, options, store)
        result.judge = judged
        complete = judged.stopped == "complete" and judged.failed == 0
        if judged.stopped != "complete":
            result.stopped = judged.stopped
            result.kept_tokens, result.kept_documents = _kept(corpus)
            return False
    hold_budget(corpus, store)  # the shards at the budget, the surplus in the reserve
    result.kept_tokens, result.kept_documents = _kept(corpus)
    if complete:  # a judge request that failed is retried next time, so no fingerprint
        store.set_meta("postprocessed", fingerprint)
    return True


def _judge_undone(corpus: Corpus) -> str:
    """What cleaning with the judge off undoes on a judged run, in words ("" if nothing)."""
    run = RunFolder(corpus.run_dir)
    if corpus.spec.judge.enabled or not run.manifest.is_file():
        return ""
    judged = read_manifest(run).get("judge")
    if not judged:
        return ""
    back = sum(int(n) for n in judged.get("dropped", {}).values())
    return (
        "the judge is off (judge.enabled: false) on a run that was judged: the shards were "
        f"rewritten without the judge column and the {back} documents it had dropped are back "
        "in the corpus; set judge.enabled: true to restore its scores and drops (stored "
        "judgements are reused, nothing is paid twice)"
    )


def _fingerprint(corpus: Corpus, store: Store) -> str:
    """What the shards are made from: the spec (clean and judge settings included) and
    every finished job's outputs of the current plan."""
    # Evaluation files are read by the clean stage: a regenerated probe set re-cleans.
    evals = [
        [str(p), p.stat().st_mtime_ns]
        for p in corpus.spec.clean.decontamination.files
        if p.exists()
    ]
    return json.dumps([corpus.spec_hash(), *store.outputs_fingerprint(), evals])


def _kept(corpus: Corpus) -> tuple[int, int]:
    """Kept tokens and documents as the clean stats say (after the judge's drops)."""
    run = RunFolder(corpus.run_dir)
    stats = read_clean_stats(run)
    if stats is None:  # written by the clean stage just before, or checked by the caller
        raise InputError(f"{run.clean_stats}: missing; re-run `sdf-corpus build` to clean again")
    return stats.kept_tokens, stats.kept_docs
