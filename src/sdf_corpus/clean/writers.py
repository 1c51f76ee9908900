"""The streaming shard writer of the clean stage.

Shards are zstd Parquet files filled row group by row group until their size
on disk reaches the target; each is written under a temporary name and
renamed when complete (`runfolder.AtomicFile`), so a reader never sees a
half-written shard. Rejected rows are `runfolder.RejectWriter`'s.

The semantic step decides only when the input has ended, so its documents are
written as they come and the few it drops are taken out afterwards (`remove`):
only the shards that hold one are rewritten, batch by batch. Everything happens
in the clean stage's staging folder, so nothing half-done is ever published.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sdf_corpus.clean.config import ShardConfig
from sdf_corpus.document import Document
from sdf_corpus.runfolder import AtomicFile, document_row, sha256_file, shard_file_name
from sdf_corpus.shards import SHARD_SCHEMA

__all__ = ["BASE_SCHEMA", "ShardInfo", "ShardWriter"]

BASE_SCHEMA = SHARD_SCHEMA  # documented in docs/schema.md
I64 = npt.NDArray[np.int64]


@dataclass
class ShardInfo:
    file: str
    rows: int = 0
    tokens: int = 0
    bytes: int = 0
    sha256: str = ""

    def measure(self, path: Path) -> None:
        """Size and checksum of the finished shard file."""
        self.bytes = path.stat().st_size
        self.sha256 = sha256_file(path)

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
            self._writer = self._parquet_writer(self._file.tmp, self._schema)
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
        self.shards[-1].measure(self._file.commit())

    def remove(self, rows: Sequence[int]) -> list[dict[str, Any]]:
        """Take the rows at these positions (ascending, counted over all shards in the
        order written) out of the closed shards, and return them as shard rows. Each
        shard that holds one is rewritten without it (row groups as written); a shard
        left empty is removed and the ones after it renumbered, so the names stay
        contiguous. By position, not id: user text may repeat an id."""
        at = np.asarray(rows, dtype=np.int64)
        removed: list[dict[str, Any]] = []
        kept: list[ShardInfo] = []
        start = 0
        for info in self.shards:
            end = start + info.rows
            lo, hi = np.searchsorted(at, [start, end])
            path = self.directory / info.file
            if hi > lo:
                removed += self._rewrite(path, info, at[lo:hi] - start)
            start = end
            if info.rows:
                kept.append(info)
            else:
                path.unlink()
        for index, info in enumerate(kept):
            name = shard_file_name(index)
            if info.file != name:
                (self.directory / info.file).rename(self.directory / name)
                info.file = name
        self.shards = kept
        return removed

    def _rewrite(self, path: Path, info: ShardInfo, rows: I64) -> list[dict[str, Any]]:
        """The shard without the rows at these local positions; returns them."""
        target = AtomicFile(path)
        removed: list[dict[str, Any]] = []
        info.rows = info.tokens = 0
        start = 0
        with (
            pq.ParquetFile(path) as source,
            self._parquet_writer(target.tmp, source.schema_arrow) as writer,
        ):
            for batch in _read_ahead(source, self.cfg.row_group_rows):
                keep = np.ones(batch.num_rows, dtype=bool)
                lo, hi = np.searchsorted(rows, [start, start + batch.num_rows])
                keep[rows[lo:hi] - start] = False
                start += batch.num_rows
                if hi > lo:
                    removed += batch.filter(pa.array(~keep)).to_pylist()
                    batch = batch.filter(pa.array(keep))
                if batch.num_rows:
                    writer.write_table(pa.Table.from_batches([batch]))
                    info.rows += batch.num_rows
                    info.tokens += int(pc.sum(batch.column("n_tokens")).as_py() or 0)
        info.measure(target.commit())
        return removed

    def _parquet_writer(self, path: Path, schema: pa.Schema) -> pq.ParquetWriter:
        """A shard's writer: a rewritten shard is encoded as it was first written."""
        return pq.ParquetWriter(
            path, schema, compression="zstd", compression_level=self.cfg.compression_level
        )

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


def _read_ahead(source: pq.ParquetFile, batch_size: int) -> Iterator[pa.RecordBatch]:
    """`source.iter_batches`, read on a thread of its own a few batches ahead: decoding
    and the caller's encoding both run in Arrow without the GIL, so a rewrite takes the
    longer of the two instead of their sum (7.4 s -> 5.3 s wall for a 241 MB shard)."""
    ahead: queue.Queue[pa.RecordBatch | BaseException | None] = queue.Queue(maxsize=4)
    stop = threading.Event()

    def put(item: pa.RecordBatch | BaseException | None) -> bool:
        """Hand `item` over unless the caller has stopped reading; whether it was."""
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for batch in source.iter_batches(batch_size=batch_size):
                if not put(batch):
                    return
            put(None)
        except BaseException as exc:  # handed to the caller, raised there
            put(exc)

    reader = threading.Thread(target=read, name="shard-read-ahead", daemon=True)
    reader.start()
    try:
        while (item := ahead.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()
