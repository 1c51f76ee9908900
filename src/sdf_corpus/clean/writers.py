"""The streaming shard writer of the clean stage.

Shards are zstd Parquet files filled row group by row group until their size
on disk reaches the target; each is written under a temporary name and
renamed when complete (`runfolder.AtomicFile`), so a reader never sees a
half-written shard. Rejected rows are `runfolder.RejectWriter`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sdf_corpus.clean.config import ShardConfig
from sdf_corpus.document import Document
from sdf_corpus.runfolder import AtomicFile, document_row, sha256_file, shard_file_name
from sdf_corpus.shards import SHARD_SCHEMA

__all__ = ["BASE_SCHEMA", "ShardInfo", "ShardWriter"]

BASE_SCHEMA = SHARD_SCHEMA  # documented in docs/schema.md


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


@dataclass
class ShardWriter:
    """Writes kept documents to `directory/shard-NNNNN.parquet`."""

    directory: Path
    cfg: ShardConfig
    shards: list[ShardInfo] = field(default_factory=list)
    _rows: list[dict[str, Any]] = field(default_factory=list)
    _tokens: int = 0
    _writer: pq.ParquetWriter | None = None
    _file: AtomicFile | None = None
    _schema: pa.Schema | None = None

    def write(self, doc: Document) -> None:
        self._rows.append(document_row(doc))
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
            info = ShardInfo(file=shard_file_name(len(self.shards)))
            self.shards.append(info)
            self._file = AtomicFile(self.directory / info.file)
            self._writer = pq.ParquetWriter(
                self._file.tmp,
                self._schema,
                compression="zstd",
                compression_level=self.cfg.compression_level,
            )
        self._writer.write_table(table)
        info = self.shards[-1]
        info.rows += table.num_rows
        info.tokens += self._tokens
        self._rows, self._tokens = [], 0
        assert self._file is not None
        if self._file.tmp.stat().st_size >= self.cfg.target_mb * 1024 * 1024:
            self._finish_shard()

    def _finish_shard(self) -> None:
        if self._writer is None or self._file is None:
            return
        self._writer.close()
        self._writer = None
        final = self._file.commit()
        info = self.shards[-1]
        info.bytes = final.stat().st_size
        info.sha256 = sha256_file(final)

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
