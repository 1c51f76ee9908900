"""Reading a run directory back in tests: ledger queries and shard rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sdf_corpus.runfolder import RunFolder
from sdf_corpus.runfolder.rows import iter_rows


def ledger_rows(run_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(run_dir / "ledger.sqlite")
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def shard_rows(run_dir: Path) -> list[dict[str, Any]]:
    """Rows decoded the way a Document holds them (messages as dicts, no null fields)."""
    return list(iter_rows(RunFolder(run_dir).shards()))
