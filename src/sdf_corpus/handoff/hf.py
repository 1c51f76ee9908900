"""The `hf` export: a folder `datasets.load_dataset(folder)` reads, offline.

    OUT/README.md                   dataset card; front matter lists the configs
    OUT/data/<genre>/part-NNNNN.parquet
    OUT/export_manifest.json

Configs: `default` (every document), `chat` and `document` (by format), and
one per genre. Shards are copied as Arrow batches (never through Python
objects), so columns keep their native types, the judge struct included, and
memory stays at one batch per genre.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm import tqdm

from sdf_corpus.errors import InputError
from sdf_corpus.handoff.card import render_card
from sdf_corpus.handoff.outputs import ExportResult, empty_error, export_manifest, file_entry
from sdf_corpus.runfolder import RunFolder, replace_folder, staged_folder, write_json_atomic
from sdf_corpus.runfolder.rows import check_current, iter_batches, read_schema

__all__ = ["export_hf", "hf_configs"]

_FLUSH_ROWS = 2_000  # rows buffered per genre before a row group is written
_PART_ROWS = 100_000  # rows per part file


@dataclass
class _GenreOut:
    folder: Path
    schema: pa.Schema
    format: str = "document"
    buffered: list[pa.RecordBatch] = field(default_factory=list)
    buffered_rows: int = 0
    part: int = 0
    part_rows: int = 0
    rows: int = 0
    tokens: int = 0
    writer: pq.ParquetWriter | None = None

    def add(self, batch: pa.RecordBatch) -> None:
        self.buffered.append(batch)
        self.buffered_rows += batch.num_rows
        self.rows += batch.num_rows
        self.tokens += int(pc.sum(batch.column("n_tokens")).as_py() or 0)
        if self.buffered_rows >= _FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.buffered:
            return
        if self.writer is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / f"part-{self.part:05d}.parquet"
            self.writer = pq.ParquetWriter(path, self.schema, compression="zstd")
        self.writer.write_table(pa.Table.from_batches(self.buffered, self.schema))
        self.part_rows += self.buffered_rows
        self.buffered, self.buffered_rows = [], 0
        if self.part_rows >= _PART_ROWS:
            self.close()
            self.part += 1
            self.part_rows = 0

    def close(self) -> None:
        self.flush()
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _schema_of(shards: list[Path]) -> pa.Schema:
    """One schema for every part file, or `datasets` could not load the configs together."""
    first: pa.Schema | None = None
    for path in shards:
        check_current(path)
        schema = read_schema(path)
        if first is None:
            first = schema
        elif not schema.equals(first, check_metadata=False):
            raise InputError(
                f"{path}: its columns differ from {shards[0].name}'s; re-clean the run so "
                "every shard has one schema"
            )
    assert first is not None
    return first


def export_hf(run_dir: Path, out: Path, progress: bool = True) -> ExportResult:
    """Write the folder (staged, then swapped in whole) with its card and manifest."""
    shards = RunFolder(run_dir).require_shards()
    schema = _schema_of(shards)
    with staged_folder(out.parent, "hf") as staging:
        outs = _copy(shards, schema, staging / "data", progress)
        if not outs:
            raise empty_error(run_dir, "hf", {})
        genres = {
            g: {"docs": o.rows, "tokens": o.tokens, "format": o.format} for g, o in outs.items()
        }
        files = sorted((staging / "data").rglob("*.parquet"))
        (staging / "README.md").write_text(
            render_card(run_dir, hf_configs(genres), files), encoding="utf-8"
        )
        records, tokens = sum(o.rows for o in outs.values()), sum(o.tokens for o in outs.values())
        body = export_manifest("hf", run_dir, records, tokens, {})
        body.update(by_genre=genres, files=[file_entry(p, staging) for p in files])
        write_json_atomic(staging / "export_manifest.json", body)
        replace_folder(staging, out)
    return ExportResult(out, out / "export_manifest.json", records, tokens)


def _copy(
    shards: list[Path], schema: pa.Schema, data: Path, progress: bool
) -> dict[str, _GenreOut]:
    genres: dict[str, _GenreOut] = {}
    bar = tqdm(total=len(shards), unit="shard", desc="export hf", disable=not progress)
    for batch in iter_batches(shards, done=lambda _: bar.update(1)):
        for genre in sorted(set(batch.column("genre").to_pylist())):
            part = batch.filter(pc.equal(batch.column("genre"), genre))
            if genre not in genres:
                fmt = part.column("format")[0].as_py() or "document"
                genres[genre] = _GenreOut(data / _folder(genre), schema, fmt)
            genres[genre].add(part)
    bar.close()
    for o in genres.values():
        o.close()
    return dict(sorted(genres.items()))


def _folder(genre: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in genre) or "unnamed"


def hf_configs(genres: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The `configs:` front matter: default, per format, per genre."""

    def entry(name: str, paths: list[str], default: bool = False) -> dict[str, Any]:
        config: dict[str, Any] = {"config_name": name}
        if default:
            config["default"] = True
        config["data_files"] = [{"split": "train", "path": paths}]
        return config

    configs = [entry("default", ["data/*/*.parquet"], default=True)]
    for fmt in ("chat", "document"):
        paths = [f"data/{_folder(g)}/*.parquet" for g, v in genres.items() if v["format"] == fmt]
        if paths and len(paths) < len(genres):
            configs.append(entry(fmt, paths))
    reserved = {"default", "chat", "document"}
    for genre in genres:
        name = _folder(genre)
        configs.append(
            entry(f"genre_{name}" if name in reserved else name, [f"data/{name}/*.parquet"])
        )
    return configs
