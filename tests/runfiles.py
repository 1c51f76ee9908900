"""Reading a run directory back in tests (ledger queries, shard rows), and a stub job
to fill a ledger with."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sdf_corpus.plan.job import Job
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


def kept_rows(run_dir: Path) -> list[dict[str, Any]]:
    """Every document the clean stage kept: the shards' rows, then the reserve's (the
    budget's surplus, moved out of the shards)."""
    run = RunFolder(run_dir)
    reserve = sorted(run.reserve_dir.glob("reserve-*.parquet")) if run.reserve_dir.is_dir() else []
    return [*iter_rows(run.shards()), *iter_rows(reserve)]


def stub_job(n: int) -> Job:
    """A minimal planned job (`job{n}`, a blog post about the subject) for ledger tests."""
    return Job(
        id=f"job{n}", index=n, round=0, corpus="t", genre="blog_post",
        principle_id="p1", ai_id="subject", author_id="", author_role="", audience_id="",
        about="subject",
    )  # fmt: skip
