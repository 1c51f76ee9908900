"""The reserve: kept documents beyond the budget, moved out of the shards.

`RUN/reserve/reserve-NNNNN.parquet` holds them in the shards' schema (NNNNN is
the shard they came from); the manifest counts them under `reserve` and no
longer under the shards' totals. Each clean makes the shards again from every
finished job, so the reserve is made again too: the folder is replaced whole.
Nothing in it is ever deleted by a build that still holds its documents.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sdf_corpus.runfolder.files import atomic_file, replace_folder, sha256_file, staged_folder
from sdf_corpus.runfolder.meta import read_manifest
from sdf_corpus.runfolder.paths import RESERVE_DIR, RunFolder
from sdf_corpus.runfolder.rows import open_shard, read_shard

__all__ = ["move_to_reserve", "reserve_files", "shard_tokens"]


def reserve_files(run: RunFolder) -> list[Path]:
    """The reserve's files the manifest lists, in shard order."""
    listed = read_manifest(run).get("reserve", {}).get("files", [])
    return [run.reserve_dir / str(f["file"]) for f in listed]


def shard_tokens(run: RunFolder) -> Iterator[tuple[str, str, int]]:
    """(id, genre, n_tokens) of every shard row, in shard order (plan order)."""
    for shard in read_manifest(run).get("shards", []):
        parquet = open_shard(run.shard(shard["file"]))
        for batch in parquet.iter_batches(columns=["id", "genre", "n_tokens"]):
            cols = batch.to_pydict()
            yield from zip(cols["id"], cols["genre"], cols["n_tokens"], strict=True)


def move_to_reserve(run: RunFolder, ids: set[str]) -> dict[str, Any]:
    """Move the rows with these ids from the shards into the reserve; rewrite the
    manifest's counts. Returns the manifest's `reserve` entry (not yet written)."""
    manifest = read_manifest(run)
    moved: Counter[str] = Counter()
    moved_tokens: Counter[str] = Counter()
    files: list[dict[str, Any]] = []
    value_set = pa.array(sorted(ids), type=pa.string())
    with staged_folder(run.root, "reserve") as staging:
        out = staging / RESERVE_DIR
        out.mkdir()
        for shard in manifest["shards"]:
            path = run.shard(shard["file"])
            table = read_shard(path)
            mask = pc.is_in(table.column("id"), value_set=value_set)
            if not pc.any(mask).as_py():
                continue
            away = table.filter(mask)
            name = shard["file"].replace("shard-", "reserve-")
            pq.write_table(away, out / name, compression="zstd")
            files.append(_info(name, away, out / name))
            stay = table.filter(pc.invert(mask))
            if stay.num_rows:
                with atomic_file(path) as tmp:
                    pq.write_table(stay, tmp, compression="zstd")
                shard.update(_info(shard["file"], stay, path))
            else:  # every row moved: an empty shard is no shard (its rows are in reserve)
                path.unlink()
                shard["rows"] = 0
            _count(away, moved, moved_tokens, manifest)
        if files:
            replace_folder(out, run.reserve_dir)
        elif run.reserve_dir.exists():
            replace_folder(out, run.reserve_dir)  # an empty reserve replaces an old one
    manifest["shards"] = [s for s in manifest["shards"] if s["rows"]]
    _recount(manifest)
    reserve = {
        "files": files,
        "totals": {
            "documents": sum(f["rows"] for f in files),
            "tokens": sum(f["tokens"] for f in files),
        },
        "by_genre": {g: {"docs": moved[g], "tokens": moved_tokens[g]} for g in sorted(moved)},
    }
    manifest["reserve"] = reserve
    return manifest


def _info(name: str, table: pa.Table, path: Any) -> dict[str, Any]:
    tokens = pc.sum(table.column("n_tokens")).as_py() or 0
    return {
        "file": name,
        "rows": table.num_rows,
        "tokens": int(tokens),
        "bytes": path.stat().st_size,
        "sha256": sha256_file(path),
    }


def _count(
    away: pa.Table, docs: Counter[str], tokens: Counter[str], manifest: dict[str, Any]
) -> None:
    cols = away.select(["genre", "principle_id", "n_tokens"]).to_pydict()
    for genre, principle, n in zip(
        cols["genre"], cols["principle_id"], cols["n_tokens"], strict=True
    ):
        docs[genre] += 1
        tokens[genre] += int(n)
        for table, key in ((manifest["by_genre"], genre), (manifest["by_principle"], principle)):
            entry = table.get(key)
            if entry is None:
                continue
            entry["docs"] -= 1
            entry["tokens"] -= int(n)
            if entry["docs"] == 0:
                del table[key]


def _recount(manifest: dict[str, Any]) -> None:
    shards = manifest["shards"]
    manifest["totals"] = {
        "documents": sum(s["rows"] for s in shards),
        "tokens": sum(s["tokens"] for s in shards),
        "bytes": sum(s["bytes"] for s in shards),
    }
