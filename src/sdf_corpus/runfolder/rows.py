"""Reading shard rows: only the columns asked for, one record batch in memory at a time.

Every reader of a run's shards (report, inspect, export, judge, mix, card)
comes through here, in the shard order `paths.shard_paths` defines. Shards
written before schema version 2 stored nested values as JSON text; `iter_rows`
decodes those too, so old runs still export and report, and `check_current`
says how to re-clean a run where a native file is required.

This module imports pyarrow (~0.3 s), so the light parts of the run folder
(paths, atomic writes, rejected rows, stats) live in modules that do not.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sdf_corpus.errors import InputError
from sdf_corpus.shards import decode_row

__all__ = [
    "check_current",
    "is_legacy",
    "iter_batches",
    "iter_parquet_rows",
    "iter_rows",
    "open_shard",
    "read_schema",
    "read_shard",
]

_LEGACY_JSON = ("messages", "attributes", "quality", "tools")


def read_schema(path: Path) -> pa.Schema:
    try:
        return pq.read_schema(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from None


def open_shard(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from None


def read_shard(path: Path) -> pa.Table:
    """A whole shard, for a stage that rewrites it (a shard is at most `shard.target_mb`)."""
    try:
        return pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from None


def is_legacy(schema: pa.Schema) -> bool:
    return "messages" in schema.names and pa.types.is_string(schema.field("messages").type)


def check_current(path: Path) -> None:
    """Fail on a shard written before native columns, naming the way to re-clean it."""
    if is_legacy(read_schema(path)):
        run = path.parent.parent
        raise InputError(
            f"{path}: written by an older sdf-corpus (conversations stored as JSON text); "
            f"re-clean the run with `sdf-corpus build SPEC` (it re-reads the ledger, no new "
            f"requests) or `sdf-corpus clean {run}/shards/*.parquet --out NEW_DIR`"
        )


def iter_batches(
    paths: Sequence[Path],
    columns: Sequence[str] | None = None,
    batch_size: int = 1024,
    done: Callable[[Path], object] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Record batches in the given order; columns a shard lacks are left out.

    For readers that work on Arrow data (copying, filtering by column); most
    callers want `iter_rows`. `done(shard)` is called after each shard's last
    batch (a progress bar counts shards with it).
    """
    for path in paths:
        names = read_schema(path).names
        present = [c for c in columns if c in names] if columns else None
        yield from open_shard(path).iter_batches(batch_size=batch_size, columns=present)
        if done is not None:
            done(path)


def iter_rows(
    paths: Sequence[Path],
    columns: Sequence[str] | None = None,
    batch_size: int = 1024,
    done: Callable[[Path], object] | None = None,
) -> Iterator[dict[str, Any]]:
    """Rows as plain Python values, one column batch in memory at a time.

    Nested columns come back in the shape a Document holds them (attributes and
    quality notes as dicts), whichever schema version wrote the file; other
    columns (a `judge` struct, say) as pyarrow gives them.
    """
    for path in paths:
        legacy = is_legacy(read_schema(path))
        for batch in iter_batches([path], columns, batch_size, done):
            for row in batch.to_pylist():
                yield _from_legacy(row) if legacy else decode_row(row)


def iter_parquet_rows(path: Path, batch_size: int = 2048) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number from 1, row) of any Parquet file, undecoded: a user's file, not a shard."""
    number = 0
    for batch in open_shard(path).iter_batches(batch_size=batch_size):
        for row in batch.to_pylist():
            number += 1
            yield number, row


def _from_legacy(row: dict[str, Any]) -> dict[str, Any]:
    for key in _LEGACY_JSON:
        if isinstance(row.get(key), str):
            row[key] = json.loads(row[key])
    return row
