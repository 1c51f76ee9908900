"""One stage over a run, as library functions: generate, clean, judge.

Each function takes a loaded `Corpus` and works in its run directory; the CLI
only parses options and calls one of these. Each takes the run's open `Store`
when its caller holds one (the build orchestrator, `sdf_corpus.build`), and
opens its own otherwise. Planning rounds live in `sdf_corpus.plan.rounds`.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sdf_corpus.budget.settings import LENGTH_BAND_SLACK, clean_config, genre_lengths
from sdf_corpus.document import Document
from sdf_corpus.errors import SpecError
from sdf_corpus.generate.assemble import to_document
from sdf_corpus.generate.loop import combine
from sdf_corpus.generate.runner import (
    GenerateResult,
    RunOptions,
    fill_pool_batched,
    fill_pool_only,
    make_run_backend,
    price_for,
    run_backend,
)
from sdf_corpus.plan.rounds import sync_plan
from sdf_corpus.plan.shard import Shard, shard_ledger_path
from sdf_corpus.runfolder import RunFolder
from sdf_corpus.spec.load import Corpus
from sdf_corpus.store import Store

# The clean settings of a corpus live with the budget loop, which estimates what the
# clean stage will keep while generating; named here too, where they always were.
__all__ = [
    "LENGTH_BAND_SLACK",
    "clean_run",
    "generate",
    "genre_lengths",
    "judge_and_apply",
    "open_ledger",
    "run_documents",
]


def open_ledger(corpus: Corpus, shard: Shard | None = None) -> Store:
    """The run's ledger, or one --shard slice's own ledger beside it."""
    if shard is not None:
        return Store(shard_ledger_path(corpus.run_dir, shard))
    return Store(RunFolder(corpus.run_dir).ledger)


@contextmanager
def _held(corpus: Corpus, store: Store | None, shard: Shard | None = None) -> Iterator[Store]:
    """The caller's store as it is, or one opened (and closed) for this stage."""
    if store is not None:
        yield store
        return
    own = open_ledger(corpus, shard)
    try:
        yield own
    finally:
        own.close()


def _check_backend_fit(corpus: Corpus) -> None:
    if corpus.spec.backend.provider != "local":
        return
    for name, genre in corpus.genres.items():
        if genre.local is None:
            raise SpecError(
                str(corpus.genre_paths[name]),
                "no `local` stage: the local backend runs a base model that needs a "
                "document-opening prompt",
                "add a `local:` stage or use another backend",
            )


def generate(
    corpus: Corpus,
    options: RunOptions,
    *,
    retry_failed: bool = False,
    batch: bool = False,
    shard: Shard | None = None,
    workers: int = 1,
    counts: dict[str, int] | None = None,
    store: Store | None = None,
) -> GenerateResult:
    """Generate every pending job of the run's plan; resumable at any point.

    `batch`: through batch APIs (Anthropic's, or OpenAI-format via litellm), at the discount.
    `counts`: jobs per genre instead of the budget's allocation (see sync_plan).
    `shard`: only that slice of the plan, into its own ledger (`merge` folds them).
    `workers`: that many processes over disjoint slices of the jobs, one ledger.
    `store`: the run's open ledger, if the caller holds it (never with `shard`)."""
    _check_generate_options(corpus, batch, workers)
    # A plan sized by count is always sent whole (the closed loop is for budgets).
    options = dataclasses.replace(
        options, budget=options.budget and counts is None, plan_slice=shard
    )
    with _held(corpus, store, shard) as ledger:
        sync_plan(corpus, ledger, counts, shard=shard)
        if retry_failed:
            ledger.reset_failed()
        backend = make_run_backend(corpus)  # raises KeyMissingError before any request
        if not batch and workers == 1:
            return asyncio.run(run_backend(corpus, ledger, backend, options))
        # The idea pool first, in this one process (one request per many jobs; --batch: as
        # batches), and one owner per cell whatever the worker count.
        fill = fill_pool_batched if batch else fill_pool_only  # --batch: at the batch price
        pool = asyncio.run(fill(corpus, ledger, backend, options))
        if pool.stopped != "complete":
            return pool
        if batch:
            from sdf_corpus.generate.batch import run_batch_generation

            rest = asyncio.run(run_batch_generation(corpus, ledger, options, price_for(corpus)))
        else:
            from sdf_corpus.generate.parallel import run_workers

            with ledger.released() as path:  # no SQLite connection may cross the fork
                rest = run_workers(corpus, path, options, workers)
        return combine([pool, rest], rest.spent_usd)


def _check_generate_options(corpus: Corpus, batch: bool, workers: int) -> None:
    _check_backend_fit(corpus)
    if batch:
        from sdf_corpus.generate.batch_clients import check_batch_targets

        check_batch_targets(corpus)
    if workers < 1:
        raise SpecError("--workers", f"{workers} is not a number of processes", "use 1 or more")
    if workers > corpus.spec.backend.concurrency:
        raise SpecError(
            "--workers",
            f"{workers} workers but backend.concurrency is {corpus.spec.backend.concurrency}: "
            "each worker needs at least one request in flight",
            "use fewer workers or raise backend.concurrency",
        )
    if batch and workers > 1:
        raise SpecError(
            "--workers",
            "--batch sends whole batches from one process; workers would not speed it up",
            "drop --workers or --batch",
        )


def run_documents(corpus: Corpus, ledger: Store) -> Iterator[Document]:
    for job, outputs in ledger.done_jobs():
        yield to_document(corpus, job, outputs)


def clean_run(corpus: Corpus, *, progress: bool = True, store: Store | None = None) -> Any:
    """Dedup, filter and shard the run's finished documents (`clean.pipeline.clean`)."""
    from sdf_corpus.clean.pipeline import clean

    with _held(corpus, store) as ledger:
        return clean(
            run_documents(corpus, ledger),
            corpus.run_dir,
            clean_config(corpus),
            genre_lengths=genre_lengths(corpus),
            spec_hash=corpus.spec_hash(),
            progress=progress,
        )


def judge_and_apply(corpus: Corpus, options: RunOptions, store: Store | None = None) -> Any:
    """Judge the freshly cleaned shards (resuming: judged documents are skipped) and
    write the scores into them, dropping what falls below judge.min_scores."""
    from sdf_corpus.judge.apply import apply_judgements
    from sdf_corpus.judge.rubric import load_rubric
    from sdf_corpus.judge.run import check_judged_share, judge_run
    from sdf_corpus.store import JudgeStore

    rubric = load_rubric(corpus.spec.judge.rubric, corpus.path.resolve().parent)
    with _held(corpus, store) as ledger:
        result = judge_run(
            corpus, ledger, rubric, max_cost=options.max_cost, progress=options.progress
        )
        judgements = JudgeStore(ledger, rubric.digest())
        # Counted before the judge's drops change the shards; raised once its scores are in.
        short = (
            check_judged_share(corpus, result, judgements) if result.stopped == "complete" else None
        )
        apply_judgements(corpus.run_dir, judgements, rubric, corpus.spec.judge.min_scores)
        if short is not None:
            raise short
        return result
