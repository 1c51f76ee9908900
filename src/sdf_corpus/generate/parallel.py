"""`generate --workers N`: N processes over disjoint slices of one run's jobs.

One Python process tops out at a few hundred requests per second (the SDK's
own request building and parsing is CPU), so past that the run needs more
processes. Each worker takes the jobs whose id hashes into its slice and
commits to the same ledger: SQLite serialises the writers (WAL mode, each
stage one short IMMEDIATE transaction), so every guarantee of a one-process
run holds — a kill loses only requests in flight, a re-run pays nothing twice.

The run's limits are shared out, not multiplied: each worker gets its part of
`backend.concurrency`, of the rate limits and of what --max-cost leaves.
"""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import multiprocessing.context
import threading
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from pathlib import Path

from sdf_corpus.generate.loop import GenerateResult, Progress, RunOptions, combine
from sdf_corpus.generate.runner import make_run_backend, run_backend
from sdf_corpus.plan.shard import Shard
from sdf_corpus.spec.load import Corpus
from sdf_corpus.store import Store

__all__ = ["run_workers", "worker_share"]

# Worker slices hash with their own salt, independent of a machine's --shard.
_SALT = "worker:"


def worker_share(total: float | int | None, index: int, workers: int) -> float | int | None:
    """Worker `index`'s part of a limit; integer limits split with the remainder spread."""
    if total is None:
        return None
    if isinstance(total, int):
        return total // workers + (1 if index < total % workers else 0)
    return total / workers


def _worker_corpus(corpus: Corpus, index: int, workers: int) -> Corpus:
    backend = corpus.spec.backend
    update = {
        "concurrency": worker_share(backend.concurrency, index, workers),
        "requests_per_minute": worker_share(backend.requests_per_minute, index, workers),
        "tokens_per_minute": worker_share(backend.tokens_per_minute, index, workers),
    }
    spec = corpus.spec.model_copy(update={"backend": backend.model_copy(update=update)})
    return dataclasses.replace(corpus, spec=spec)


def _work(corpus: Corpus, ledger_path: Path, options: RunOptions) -> GenerateResult:
    """One worker process: its slice of the pending jobs, through its own backend."""
    ledger = Store(ledger_path)
    try:
        return asyncio.run(run_backend(corpus, ledger, make_run_backend(corpus), options))
    finally:
        ledger.close()


def _context() -> multiprocessing.context.BaseContext:
    """fork when this process has no other thread (the parent's imports, the SDK's
    among them, are then not paid again per worker: ~2.5 s of CPU each); else spawn,
    since forking a threaded process can copy a held lock. Not a forkserver: one
    started earlier in this process (the clean stage's) would hand workers the
    environment of that moment, API keys included, not this one's."""
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def run_workers(
    corpus: Corpus, ledger_path: Path, options: RunOptions, workers: int
) -> GenerateResult:
    """Run the ledger's pending jobs in `workers` processes; their results summed.

    The caller must hold no connection to the ledger: no SQLite connection may
    cross a fork. This one opens its own once the workers exist."""
    ledger = Store(ledger_path)
    try:
        spent = ledger.totals().cost_usd
    finally:
        ledger.close()
    left = None if options.max_cost is None else max(0.0, options.max_cost - spent)
    # A fork-context pool starts all its processes at the first submit.
    with ProcessPoolExecutor(workers, mp_context=_context()) as pool:
        futures = []
        for i in range(workers):
            share = worker_share(left, i, workers)
            opts = dataclasses.replace(
                options,
                progress=False,
                max_cost=None if share is None else spent + float(share),
                shard=Shard(i, workers, _SALT),
            )
            futures.append(
                pool.submit(_work, _worker_corpus(corpus, i, workers), ledger_path, opts)
            )
        ledger = Store(ledger_path)
        try:
            _watch(ledger, futures, options.progress)
            results = [f.result() for f in futures]
            return combine(results, ledger.totals().cost_usd)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            ledger.close()


def _watch(ledger: Store, futures: list[Future[GenerateResult]], progress: bool) -> None:
    """One progress bar for all workers, read from the ledger they share."""
    totals = ledger.totals()
    bar = Progress(
        totals.jobs,
        totals.done + totals.failed,
        enabled=progress,
        desc=f"generate ({len(futures)} workers)",
    )
    try:
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=1.0, return_when=FIRST_EXCEPTION)
            if any(f.done() and f.exception() is not None for f in futures):
                break  # the caller re-raises it once the others are stopped
            if progress:
                finished, requests = ledger.progress()
                bar.show(finished, f"{requests:,} requests")
    finally:
        bar.close()
