"""Streaming, atomic writers for shards, rejected documents and JSON files.

Shards are zstd Parquet files filled row group by row group until their size
on disk reaches the target; each is written as `*.parquet.tmp` and renamed
when complete, so a reader never sees a half-written shard.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from sdf_corpus.clean.config import ShardConfig
from sdf_corpus.document import Document
from sdf_corpus.shards import SHARD_SCHEMA

__all__ = [
    "BASE_SCHEMA",
    "RejectWriter",
    "ShardInfo",
    "ShardWriter",
    "write_json_atomic",
    "write_text_atomic",
]

BASE_SCHEMA = SHARD_SCHEMA  # documented in docs/schema.md


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class ShardInfo:
    file: str
    rows: int = 0
    tokens: int = 0
    bytes: int = 0
    sha256: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "rows": self.rows,
            "tokens": self.tokens,
            "bytes": self.bytes,
            "sha256": self.sha256,
        }


def _row(doc: Document, native: bool = True) -> dict[str, Any]:
    row = doc.to_row() if native else doc.to_json_row()
    for key, value in doc.metadata.items():
        row.setdefault(key, value)  # extras never shadow our own columns
    return row


@dataclass
class ShardWriter:
    """Writes kept documents to `directory/shard-NNNNN.parquet`."""

    directory: Path
    cfg: ShardConfig
    shards: list[ShardInfo] = field(default_factory=list)
    _rows: list[dict[str, Any]] = field(default_factory=list)
    _tokens: int = 0
    _writer: pq.ParquetWriter | None = None
    _schema: pa.Schema | None = None

    def write(self, doc: Document) -> None:
        self._rows.append(_row(doc))
        self._tokens += doc.n_tokens
        if len(self._rows) >= self.cfg.row_group_rows:
            self._flush()

    def close(self) -> list[ShardInfo]:
        self._flush()
        self._finish_shard()
        return self.shards

    def _flush(self) -> None:
        if not self._rows:
            return
        if self._schema is None:
            self._schema = self._infer_schema(self._rows)
        table = pa.Table.from_pylist(self._rows, schema=self._schema)
        if self._writer is None:
            info = ShardInfo(file=f"shard-{len(self.shards):05d}.parquet")
            self.shards.append(info)
            self._writer = pq.ParquetWriter(
                self._tmp(info),
                self._schema,
                compression="zstd",
                compression_level=self.cfg.compression_level,
            )
        self._writer.write_table(table)
        info = self.shards[-1]
        info.rows += table.num_rows
        info.tokens += self._tokens
        self._rows, self._tokens = [], 0
        if self._tmp(info).stat().st_size >= self.cfg.target_mb * 1024 * 1024:
            self._finish_shard()

    def _finish_shard(self) -> None:
        if self._writer is None:
            return
        self._writer.close()
        self._writer = None
        info = self.shards[-1]
        final = self.directory / info.file
        os.replace(self._tmp(info), final)
        info.bytes = final.stat().st_size
        info.sha256 = sha256_file(final)

    def _tmp(self, info: ShardInfo) -> Path:
        return self.directory / (info.file + ".tmp")

    @staticmethod
    def _infer_schema(rows: list[dict[str, Any]]) -> pa.Schema:
        """Our columns, then extra columns typed from the first row group."""
        extra = [k for k in rows[0] if k not in BASE_SCHEMA.names]
        if not extra:
            return BASE_SCHEMA
        inferred = pa.Table.from_pylist([{k: r.get(k) for k in extra} for r in rows]).schema
        fields = [inferred.field(k) for k in extra]
        # An all-null first row group gives type null; strings are the safe guess.
        fields = [f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in fields]
        return pa.schema(list(BASE_SCHEMA) + fields, metadata=BASE_SCHEMA.metadata)


class RejectWriter:
    """Every dropped document, as JSONL with why it was dropped (`rejected.jsonl`)."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "rejected.jsonl"
        self._f: IO[str] = self.path.open("w", encoding="utf-8")

    def write(
        self,
        doc: Document,
        stage: str,
        reason: str,
        detail: Any = None,
        duplicate_of: str | None = None,
    ) -> None:
        row = {
            "reason": reason,
            "stage": stage,
            "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True)
            if detail is not None
            else None,
            "duplicate_of": duplicate_of,
            **_row(doc, native=False),
        }
        self._f.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")

    def close(self) -> None:
        self._f.close()


def iter_rejected(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)
