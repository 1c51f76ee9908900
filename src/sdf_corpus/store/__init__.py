"""The one home of SQLite: `RUN_DIR/ledger.sqlite`, the single source of truth of a run.

No other module opens a connection or writes SQL; they call the typed queries here.

    schema.py    every table, and versioned migrations on `PRAGMA user_version`
    jobs.py      meta, planning rounds, jobs, stage outputs, attempts; transactions
    reports.py   totals, spend, errors, progress: read-only figures
    batches.py   `BatchBook`: the Message Batches intents and their requests
    budget.py    the closed budget loop: a genre's pending front, waves, measures
    judge.py     `JudgeStore`: judgements keyed by the rubric's hash
    ideas.py     `IdeaBook`: the idea pool's requests, ideas and verdicts
    stagekeys.py `StageKeys`: stage outputs found by key, history, reopening a changed chain
    merge.py     folding a `--shard` ledger into the run's (ATTACH + copies)

WAL mode; every finished stage is committed in the same transaction as the
attempt that produced it (stages that finish together share one, see
`generate/commits.py`), so a kill at any moment loses at most the requests in
flight, and a re-run never asks for a committed stage again.
API keys never reach the store: attempts keep an error's class and its message,
which the backends scrub of keys before raising.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sdf_corpus.store.batches import BatchBook, BatchRow, RequestRow
from sdf_corpus.store.budget import BudgetQueries
from sdf_corpus.store.ideas import IdeaBook
from sdf_corpus.store.jobs import JobQueries, StageOutput, StageRecord
from sdf_corpus.store.judge import JudgeStore
from sdf_corpus.store.reports import ReportQueries, Totals
from sdf_corpus.store.schema import LATEST
from sdf_corpus.store.stagekeys import StageKeys, stages_held

__all__ = [
    "LATEST",
    "BatchBook",
    "BatchRow",
    "IdeaBook",
    "JudgeStore",
    "RequestRow",
    "StageKeys",
    "StageOutput",
    "StageRecord",
    "Store",
    "Totals",
    "read_meta",
    "stages_held",
]


class Store(JobQueries, ReportQueries, BudgetQueries):
    """One connection to a run's ledger with every query the stages need.

    `Store(path)` creates or migrates the file; `Store(path, readonly=True)` only
    reads it (the report, the dataset card), never migrating or writing."""


def read_meta(path: Path) -> dict[str, Any]:
    """Every meta value of the ledger at `path`, JSON parsed; {} when there is none."""
    if not path.is_file():
        return {}
    store = Store(path, readonly=True)
    try:
        return store.meta_values()
    except sqlite3.Error:  # an SQLite file without our tables holds no run facts
        return {}
    finally:
        store.close()
