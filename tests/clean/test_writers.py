"""The shard writer's removal of rows after the fact, and the read-ahead it rewrites with."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sdf_corpus.clean.config import ShardConfig
from sdf_corpus.clean.writers import ShardWriter, _read_ahead
from sdf_corpus.document import Document


def _write(folder: Path, n: int, **cfg: float) -> ShardWriter:
    writer = ShardWriter(folder, ShardConfig.model_validate(cfg))
    for i in range(n):
        writer.write(Document(id="same" if i % 10 == 0 else f"d{i}", text=f"text {i}", n_tokens=i))
    writer.close()
    return writer


def test_rows_are_removed_by_position_even_where_ids_repeat(tmp_path: Path) -> None:
    writer = _write(tmp_path, 2500, row_group_rows=100)
    removed = writer.remove([0, 10, 999, 2499])
    assert [r["text"] for r in removed] == ["text 0", "text 10", "text 999", "text 2499"]
    table = pq.read_table(tmp_path / writer.shards[0].file)
    texts = table.column("text").to_pylist()
    assert texts == [f"text {i}" for i in range(2500) if i not in {0, 10, 999, 2499}]
    assert table.column("id").to_pylist().count("same") == 248  # the other repeats stay
    info = writer.shards[0]
    assert (info.rows, info.tokens) == (2496, sum(range(2500)) - 0 - 10 - 999 - 2499)


def test_an_emptied_shard_goes_and_the_later_ones_are_renumbered(tmp_path: Path) -> None:
    writer = _write(tmp_path, 6, row_group_rows=2, target_mb=1e-9)  # two rows a shard
    assert len(writer.shards) == 3
    writer.remove([2, 3])
    names = sorted(p.name for p in tmp_path.glob("*.parquet"))
    assert names == [s.file for s in writer.shards]
    assert names == ["shard-00000.parquet", "shard-00001.parquet"]
    second = pq.read_table(tmp_path / names[1]).column("text").to_pylist()
    assert second == ["text 4", "text 5"]


def _parquet(path: Path, batches: int) -> pq.ParquetFile:
    table = pa.table({"x": list(range(batches * 10))})
    pq.write_table(table, path, row_group_size=10)
    return pq.ParquetFile(path)


def test_read_ahead_yields_every_batch_in_order(tmp_path: Path) -> None:
    source = _parquet(tmp_path / "a.parquet", 50)
    values = [v for b in _read_ahead(source, 10) for v in b.column("x").to_pylist()]
    assert values == list(range(500))


def test_read_ahead_stops_when_the_caller_does(tmp_path: Path) -> None:
    source = _parquet(tmp_path / "a.parquet", 50)
    batches = _read_ahead(source, 10)
    next(batches)
    batches.close()  # the reader, blocked on a full queue, must end (no hang)


def test_read_ahead_raises_the_readers_error(tmp_path: Path) -> None:
    source = _parquet(tmp_path / "a.parquet", 5)

    real = source.iter_batches

    def broken(batch_size: int) -> object:
        yield from real(batch_size=batch_size)
        raise OSError("disk went away")

    source.iter_batches = broken  # type: ignore[method-assign]
    with pytest.raises(OSError, match="disk went away"):
        list(_read_ahead(source, 10))
