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

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from sdf_corpus.errors import InputError
from sdf_corpus.generate.ledger import Ledger
from sdf_corpus.generate.shard import parse_ledger_name, shard_ledgers
from sdf_corpus.spec.load import Corpus

__all__ = ["MergeResult", "merge_ledgers"]

_NEEDED = {"meta", "rounds", "jobs", "outputs", "attempts"}
_OUTPUT_COLS = (
    "job_id, stage, text, stop_reason, input_tokens, output_tokens, cache_read_tokens, "
    "cache_write_tokens, cost_usd, model, backend, created_at"
)
_ATTEMPT_COLS = (
    "job_id, stage, started_at, finished_at, outcome, error_class, error_message, status, "
    "input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, model"
)


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
    from sdf_corpus.pipeline import sync_plan  # late: pipeline imports generate modules

    target = corpus.run_dir / "ledger.sqlite"
    found = _sources(corpus, sources)
    result = MergeResult(sources=found, missing=_missing(found))
    for path in result.sources:
        _check_source(path, target)
    ledger = Ledger(target)
    try:
        sync_plan(corpus, ledger)
        ledger.db.execute(
            "CREATE INDEX IF NOT EXISTS attempts_key ON attempts (job_id, stage, started_at)"
        )
        for path in result.sources:
            _check_plan(ledger, path, corpus)
        for path in result.sources:
            _fold(ledger, path, result)
    finally:
        ledger.close()
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
    try:
        db = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            open_batches = (
                db.execute(
                    "SELECT COUNT(*) FROM batches WHERE status IN ('creating', 'in_progress')"
                ).fetchone()[0]
                if "batches" in tables
                else 0
            )
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise InputError(f"{path}: not an sdf-corpus ledger ({exc})") from None
    if not tables >= _NEEDED:
        raise InputError(
            f"{path}: not an sdf-corpus ledger (tables missing: "
            f"{', '.join(sorted(_NEEDED - tables))})"
        )
    if open_batches:
        raise InputError(
            f"{path}: {open_batches} message batch(es) still open (re-run its "
            "`generate --batch --shard i/N` until they are collected, then merge)"
        )


def _check_plan(ledger: Ledger, path: Path, corpus: Corpus) -> None:
    """Every job a source worked on must be one the run's plan holds: a slice
    generated from another spec or budget would mix two corpora."""
    db = ledger.db
    db.execute("ATTACH DATABASE ? AS src", (str(path),))
    try:
        row = db.execute(
            "SELECT COUNT(*), MIN(s.id) FROM src.jobs s WHERE s.active = 1 AND NOT EXISTS "
            "(SELECT 1 FROM main.jobs j WHERE j.id = s.id AND j.active = 1)"
        ).fetchone()
    finally:
        db.execute("DETACH DATABASE src")
    if row[0]:
        raise InputError(
            f"{path}: {row[0]} of its jobs (e.g. {row[1]}) are not in the plan of "
            f"{corpus.path} (merge with the same spec, budget and --set options the "
            "shards were generated with)"
        )


def _fold(ledger: Ledger, path: Path, result: MergeResult) -> None:
    db = ledger.db
    db.execute("ATTACH DATABASE ? AS src", (str(path),))
    try:
        db.execute("BEGIN IMMEDIATE")
        result.outputs += db.execute(
            f"INSERT OR IGNORE INTO main.outputs ({_OUTPUT_COLS}) "
            f"SELECT {_OUTPUT_COLS} FROM src.outputs"
        ).rowcount
        # An attempt is a paid request: copy each exactly once, so spend adds up.
        result.attempts += db.execute(
            f"INSERT INTO main.attempts ({_ATTEMPT_COLS}) SELECT {_ATTEMPT_COLS} "
            "FROM src.attempts a WHERE NOT EXISTS (SELECT 1 FROM main.attempts m WHERE "
            "m.job_id = a.job_id AND m.stage = a.stage AND m.started_at = a.started_at "
            "AND m.finished_at = a.finished_at AND m.outcome = a.outcome)"
        ).rowcount
        # done beats failed beats pending: a job one machine finished is finished.
        result.jobs_finished += db.execute(
            "UPDATE main.jobs SET status = s.status, error = s.error, updated_at = s.updated_at "
            "FROM src.jobs s WHERE s.id = main.jobs.id AND s.status != 'pending' "
            "AND (main.jobs.status = 'pending' "
            "OR (main.jobs.status = 'failed' AND s.status = 'done'))"
        ).rowcount
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    finally:
        db.execute("DETACH DATABASE src")
