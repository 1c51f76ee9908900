"""Reading a run directory back in tests: ledger queries and shard rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq


def ledger_rows(run_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(run_dir / "ledger.sqlite")
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def shard_rows(run_dir: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for shard in sorted((run_dir / "shards").glob("*.parquet")):
        rows.extend(pq.read_table(shard).to_pylist())
    return rows
