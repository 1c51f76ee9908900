"""Every table of `ledger.sqlite`, and the migrations that bring an older ledger up to date.

Tables
    meta      key/value (spec hash, the run facts the report reads, round bookkeeping)
    rounds    one row per planning round: the job counts it asked for, so the
              same jobs can be re-derived from the spec on resume
    jobs      one row per planned job: payload (Job JSON), status
              pending|done|failed, active (1 if in the current plan), last error
    outputs   one row per finished stage: text, stop reason, usage, cost
    attempts  every request made: outcome ok|retry|failed|unparsed, error class and
              message (never a key), usage and cost
    batches   one row per batch we meant to create (`generate --batch`): the API
              (provider, model), its id (NULL until create returned), status
              creating|in_progress|ended|collected|orphaned, size, worst-case cost
    batch_requests
              one row per request in a batch: deterministic custom id (job id,
              stage, attempt), the batch's local seq, and the result once read
              (succeeded|errored|expired|canceled|missing|lost)
    stage_history
              stage outputs a changed stage displaced from `outputs`, by key
    judgements
              one row per (document, rubric hash): scores and justifications, or
              why the document stayed unjudged

Versions live in `PRAGMA user_version`. Version 0 is every ledger written before
the version was kept (sdf-corpus up to the store module): its tables are exactly
version 1's, except that `judgements` appeared only once a run was judged, so
migration 1 creates whatever is missing and changes nothing that exists. A new
column or table is a new entry in `MIGRATIONS`; a ledger from a newer sdf-corpus
is refused with a message to upgrade, never read half-understood.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sdf_corpus.errors import InputError

__all__ = ["LATEST", "MIGRATIONS", "REQUIRED", "connect"]

_V1 = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS rounds (
    round INTEGER PRIMARY KEY, counts TEXT NOT NULL, created_at REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, idx INTEGER NOT NULL, round INTEGER NOT NULL, genre TEXT NOT NULL,
    principle_id TEXT NOT NULL, ai_id TEXT NOT NULL, payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending', active INTEGER NOT NULL DEFAULT 1,
    error TEXT, updated_at REAL)""",
    "CREATE INDEX IF NOT EXISTS jobs_status ON jobs (active, status, idx)",
    """CREATE TABLE IF NOT EXISTS outputs (
    job_id TEXT NOT NULL, stage TEXT NOT NULL, text TEXT NOT NULL, stop_reason TEXT NOT NULL,
    input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL, cache_write_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL, model TEXT NOT NULL, backend TEXT NOT NULL, created_at REAL NOT NULL,
    PRIMARY KEY (job_id, stage))""",
    """CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL, stage TEXT NOT NULL,
    started_at REAL NOT NULL, finished_at REAL NOT NULL, outcome TEXT NOT NULL,
    error_class TEXT, error_message TEXT, status INTEGER,
    input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens INTEGER NOT NULL DEFAULT 0, cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0, model TEXT NOT NULL DEFAULT '')""",
    """CREATE TABLE IF NOT EXISTS batches (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE, status TEXT NOT NULL,
    requests INTEGER NOT NULL, bytes INTEGER NOT NULL, worst_cost_usd REAL NOT NULL,
    created_at REAL NOT NULL, submitted_at REAL, ended_at REAL, collected_at REAL)""",
    """CREATE TABLE IF NOT EXISTS batch_requests (
    custom_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, job_id TEXT NOT NULL, stage TEXT NOT NULL,
    attempt INTEGER NOT NULL, prefill TEXT NOT NULL DEFAULT '', result TEXT, error TEXT)""",
    "CREATE INDEX IF NOT EXISTS batch_requests_seq ON batch_requests (seq, result)",
    "CREATE INDEX IF NOT EXISTS batch_requests_job ON batch_requests (job_id, result)",
    """CREATE TABLE IF NOT EXISTS judgements (
    doc_id TEXT NOT NULL, rubric TEXT NOT NULL, status TEXT NOT NULL,
    scores TEXT, justifications TEXT, error TEXT, model TEXT NOT NULL,
    created_at REAL NOT NULL, PRIMARY KEY (doc_id, rubric))""",
)

# Version 2: stage outputs addressed by what shapes them (sdf_corpus.chain.stage_key).
# `outputs.key` is the key of the row a job's chain holds now; a row a changed stage
# displaced moves to `stage_history` (found again by its key when the stage changes
# back); a batch request remembers the key its answer is for. A ledger that already
# holds jobs was planned with the old job ids (which hashed every prompt and the
# model): `adopt_ids` asks the next plan sync to rename them (plan/legacy.py).
_V2 = (
    "ALTER TABLE outputs ADD COLUMN key TEXT",
    "ALTER TABLE batch_requests ADD COLUMN key TEXT",
    # Which API a batch went to: a build may batch stages on two providers.
    "ALTER TABLE batches ADD COLUMN provider TEXT NOT NULL DEFAULT 'anthropic'",
    "ALTER TABLE batches ADD COLUMN model TEXT NOT NULL DEFAULT ''",
    """CREATE TABLE IF NOT EXISTS stage_history (
    key TEXT PRIMARY KEY, job_id TEXT NOT NULL, stage TEXT NOT NULL, text TEXT NOT NULL,
    stop_reason TEXT NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL, cache_write_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL, model TEXT NOT NULL, backend TEXT NOT NULL,
    created_at REAL NOT NULL)""",
    "INSERT OR REPLACE INTO meta SELECT 'adopt_ids', '1' WHERE EXISTS (SELECT 1 FROM jobs)",
)

# Tables every ledger has had since the first release: a read-only open checks
# them, since it cannot create them (a writer's migration does).
REQUIRED = frozenset({"meta", "rounds", "jobs", "outputs", "attempts"})
# MIGRATIONS[i] takes a ledger from version i to version i + 1.
MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2)
LATEST = len(MIGRATIONS)


# How long a connection waits for another process's write lock before failing.
BUSY_TIMEOUT_MS = 30_000


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), migrated to LATEST.

    WAL with synchronous=NORMAL: a committed transaction survives a process kill;
    the busy timeout queues `--workers` processes behind one another's writes."""
    try:
        if readonly:
            db = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, isolation_level=None)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        version = _version(db, path)
        if not readonly:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    except sqlite3.DatabaseError as exc:
        raise InputError(
            f"{path}: not an sdf-corpus ledger ({exc}); give the ledger.sqlite a run wrote"
        ) from None
    if readonly:
        _check_tables(db, path)
    elif version < LATEST:
        _migrate(db)
    return db


def _check_tables(db: sqlite3.Connection, path: Path) -> None:
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not tables >= REQUIRED:
        db.close()
        raise InputError(
            f"{path}: not an sdf-corpus ledger (tables missing: "
            f"{', '.join(sorted(REQUIRED - tables))})"
        )


def _version(db: sqlite3.Connection, path: Path) -> int:
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > LATEST:
        db.close()
        raise InputError(
            f"{path}: written by a newer sdf-corpus (ledger version {version}; this one "
            f"reads up to {LATEST}); upgrade sdf-corpus (pip install -U sdf-corpus)"
        )
    return version


def _migrate(db: sqlite3.Connection) -> None:
    """Apply the missing migrations in one transaction; IMMEDIATE so two processes
    opening the same old ledger at once migrate it once, one after the other."""
    db.execute("BEGIN IMMEDIATE")
    try:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        for statements in MIGRATIONS[version:]:
            for statement in statements:
                db.execute(statement)
        # PRAGMA takes no parameters; LATEST is our own integer.
        db.execute(f"PRAGMA user_version={LATEST}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
