"""`sdf-corpus merge`: fold the ledgers of `generate --shard i/N` into the run's own.

Job ids are content addresses, so a slice generated on another machine is the
same job the one-machine plan holds, and folding is a copy: stage outputs by
(job, stage), every paid attempt (spend stays true), and each job's status.
The run ledger then cleans, judges and reports as if it had been built in one
place. Merging is idempotent (a ledger merged twice adds nothing the second
time) and each source goes in one transaction, after every source has been
checked, so a bad file leaves the run ledger as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sdf_corpus.errors import InputError
from sdf_corpus.plan.rounds import sync_plan
from sdf_corpus.plan.shard import parse_ledger_name, shard_ledgers
from sdf_corpus.runfolder import RunFolder
from sdf_corpus.spec.load import Corpus
from sdf_corpus.store import Store
from sdf_corpus.store.merge import fold, foreign_jobs, open_batches

__all__ = ["MergeResult", "merge_ledgers"]


@dataclass
class MergeResult:
    sources: list[Path] = field(default_factory=list)
    outputs: int = 0  # stage outputs new to the run ledger
    attempts: int = 0  # attempt rows new to it
    jobs_finished: int = 0  # jobs that became done or failed by the merge
    missing: list[str] = field(default_factory=list)  # slices "i/N" of a seen N not merged


def merge_ledgers(corpus: Corpus, sources: list[Path] | None = None) -> MergeResult:
    """Fold `sources` into `RUN_DIR/ledger.sqlite`, whose plan is synced from the spec
    first. A source is a ledger file or a folder holding `ledger.shard-*-of-*.sqlite`
    files (another machine's run folder); default: the run folder's own slices."""
    target = RunFolder(corpus.run_dir).ledger
    found = _sources(corpus, sources)
    result = MergeResult(sources=found, missing=_missing(found))
    for path in result.sources:
        _check_source(path, target)
    store = Store(target)
    try:
        sync_plan(corpus, store)
        for path in result.sources:
            _check_plan(store, path, corpus)
        for path in result.sources:
            folded = fold(store, path)
            result.outputs += folded.outputs
            result.attempts += folded.attempts
            result.jobs_finished += folded.jobs_finished
    finally:
        store.close()
    return result


def _sources(corpus: Corpus, sources: list[Path] | None) -> list[Path]:
    found: list[Path] = []
    for source in sources or [corpus.run_dir]:
        if sources and not source.is_dir():
            found.append(source)
            continue
        in_dir = [path for _, path in shard_ledgers(source)]
        if not in_dir:
            raise InputError(
                f"{source}: no ledger.shard-*-of-*.sqlite to merge (run `sdf-corpus generate "
                "SPEC --shard I/N` first, or name the ledger files to merge)"
            )
        found.extend(in_dir)
    return list(dict.fromkeys(path.resolve() for path in found))


def _missing(sources: list[Path]) -> list[str]:
    """Slices of each N among the sources' file names that no source provides."""
    seen: dict[int, set[int]] = {}
    for path in sources:
        shard = parse_ledger_name(path.name)
        if shard is not None:
            seen.setdefault(shard.count, set()).add(shard.index)
    return [f"{i}/{n}" for n, have in sorted(seen.items()) for i in range(n) if i not in have]


def _check_source(path: Path, target: Path) -> None:
    if not path.is_file():
        raise InputError(f"{path}: no such ledger (give the path of a shard's ledger.sqlite)")
    if target.exists() and path.resolve() == target.resolve():
        raise InputError(f"{path}: this is the run's own ledger (merge the shard ledgers into it)")
    # Opening it checks that it is a ledger, and not one of a newer sdf-corpus.
    still_open = open_batches(path)
    if still_open:
        raise InputError(
            f"{path}: {still_open} message batch(es) still open (re-run its "
            "`generate --batch --shard i/N` until they are collected, then merge)"
        )


def _check_plan(store: Store, path: Path, corpus: Corpus) -> None:
    """Every job a source worked on must be one the run's plan holds: a slice
    generated from another spec or budget would mix two corpora."""
    count, example = foreign_jobs(store, path)
    if count:
        raise InputError(
            f"{path}: {count} of its jobs (e.g. {example}) are not in the plan of "
            f"{corpus.path} (merge with the same spec, budget and --set options the "
            "shards were generated with)"
        )
