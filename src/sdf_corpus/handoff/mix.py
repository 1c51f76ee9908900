"""`sdf-corpus mix`: runs and the user's own text at a stated token ratio, as shards.

Public SDF work mixes synthetic documents with real text at a ratio it reports
(1:1 with web text in one replication, about 1% synthetic in alignment
pretraining); the ratio is the user's choice and travels with the data.

Two streaming passes. The first counts every document's tokens (one tokenizer
for both sides) and gives it a seeded random key. Then the side with more than
its share is cut down: its documents, in key order, are taken while they fit
the target, so the realised ratio lands within one short document of the
request. The second pass routes each chosen document to a bucket by its key;
each bucket is sorted by key and written as a shard, so the output is shuffled
(sources interleaved), deterministic for a seed, and memory holds one bucket.
The output folder is a run like any other: shards/, manifest.json (with a
`mix` section giving the realised ratio per source) and README.md.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xxhash
from tqdm import tqdm

from sdf_corpus.clean.config import ShardConfig
from sdf_corpus.clean.inputs import read_documents
from sdf_corpus.clean.tokens import TokenCounter, make_counter
from sdf_corpus.clean.writers import ShardInfo
from sdf_corpus.document import Document
from sdf_corpus.errors import InputError
from sdf_corpus.handoff.card import render_card, run_configs
from sdf_corpus.io import check_output_dir
from sdf_corpus.runfolder import (
    RunFolder,
    publish,
    read_json_or_empty,
    shard_file_name,
    staged_folder,
    write_text_atomic,
)
from sdf_corpus.runfolder.paths import MANIFEST, SHARDS_DIR
from sdf_corpus.runfolder.rows import iter_rows
from sdf_corpus.shards import SHARD_SCHEMA

__all__ = ["MixOptions", "mix"]

MIX_SCHEMA = SHARD_SCHEMA.append(pa.field("source", pa.string()))
_KEYED = MIX_SCHEMA.append(pa.field("_key", pa.uint64()))
_DOC_FIELDS = {f.name for f in fields(Document)} - {"metadata"}


@dataclass(frozen=True)
class MixOptions:
    synthetic: float = 1.0  # the ratio synthetic : real, e.g. 1 : 99
    real: float = 1.0
    seed: int = 0
    tokenizer: str | None = None  # default: the first run's clean tokenizer
    shard: ShardConfig = field(default_factory=ShardConfig)
    progress: bool = True


@dataclass
class _Source:
    name: str
    side: str  # "synthetic" | "real"
    paths: list[Path]
    tokens: array[int] = field(default_factory=lambda: array("q"))
    keys: array[int] = field(default_factory=lambda: array("Q"))
    chosen: np.ndarray[Any, np.dtype[np.bool_]] | None = None

    def documents(self) -> Iterator[Document]:
        if self.side == "real":
            yield from read_documents(self.paths)
            return
        for row in iter_rows(self.paths):
            yield Document(**{k: v for k, v in row.items() if k in _DOC_FIELDS and v is not None})


def _sources(runs: Sequence[Path], corpora: Sequence[Path]) -> list[_Source]:
    if not runs or not corpora:
        raise InputError("mix: give at least one RUN and one --with CORPUS (Parquet or JSONL)")
    out, seen = [], Counter[str]()
    for side, items in (("synthetic", runs), ("real", corpora)):
        for item in items:
            path = Path(item)
            paths = RunFolder(path).require_shards() if side == "synthetic" else [path]
            if side == "real":
                next(iter(read_documents(paths)), None)  # a bad file fails before any output
            seen[path.name] += 1
            name = path.name if seen[path.name] == 1 else f"{path.name}#{seen[path.name]}"
            out.append(_Source(name, side, paths))
    return out


def _counter(runs: Sequence[Path], name: str | None) -> TokenCounter:
    if name:
        return make_counter(name)
    used = read_json_or_empty(RunFolder(runs[0]).manifest).get("tokenizer", "")
    return make_counter("approx" if used in ("", "approx-words-v1") else used)


def _count(sources: list[_Source], counter: TokenCounter, seed: int, progress: bool) -> None:
    bar = tqdm(unit="docs", desc="mix: count", disable=not progress)
    for source in sources:
        for i, doc in enumerate(source.documents()):
            source.tokens.append(counter.count(doc.text))
            key = f"{seed}:{source.name}:{i}:{doc.id}".encode()
            source.keys.append(xxhash.xxh64_intdigest(key))
            bar.update(1)
    bar.close()


def _choose(sources: list[_Source], opts: MixOptions) -> None:
    """Mark the documents kept: all of the scarcer side, a keyed cut of the other."""
    have = {s: sum(sum(x.tokens) for x in sources if x.side == s) for s in ("synthetic", "real")}
    if have["synthetic"] == 0 or have["real"] == 0:
        empty = "synthetic runs" if have["synthetic"] == 0 else "--with corpora"
        raise InputError(f"mix: the {empty} hold no tokens; nothing to mix")
    want_real = have["synthetic"] * opts.real / opts.synthetic
    if want_real <= have["real"]:
        targets = {"synthetic": float(have["synthetic"]), "real": want_real}
    else:
        targets = {"synthetic": have["real"] * opts.synthetic / opts.real, "real": have["real"]}
    for side, target in targets.items():
        members = [s for s in sources if s.side == side]
        tokens = np.concatenate([np.frombuffer(s.tokens, dtype=np.int64) for s in members])
        keys = np.concatenate([np.frombuffer(s.keys, dtype=np.uint64) for s in members])
        chosen = np.zeros(len(tokens), dtype=bool)
        total = 0
        for i in np.argsort(keys, kind="stable"):
            if total + tokens[i] <= target + 0.5:
                chosen[i] = True
                total += int(tokens[i])
        start = 0
        for s in members:
            s.chosen = chosen[start : start + len(s.tokens)]
            start += len(s.tokens)


@dataclass
class _Tally:
    docs: Counter[str] = field(default_factory=Counter)
    tokens: Counter[str] = field(default_factory=Counter)
    by_genre: dict[str, Counter[str]] = field(default_factory=dict)
    by_principle: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, source: str, row: dict[str, Any]) -> None:
        n = int(row["n_tokens"])
        self.docs[source] += 1
        self.tokens[source] += n
        for table, key in ((self.by_genre, row["genre"]), (self.by_principle, row["principle_id"])):
            entry = table.setdefault(key, Counter())
            entry["docs"] += 1
            entry["tokens"] += n


def _bucket_count(sources: list[_Source], cfg: ShardConfig) -> int:
    chosen = sum(
        int(np.frombuffer(s.tokens, dtype=np.int64)[s.chosen].sum())
        for s in sources
        if s.chosen is not None
    )
    # ~4 bytes of zstd Parquet per token of English prose, with room to spare.
    return max(1, math.ceil(chosen * 4 / (cfg.target_mb * 1024 * 1024)))


def _route(sources: list[_Source], buckets: Path, n: int, progress: bool) -> _Tally:
    tally = _Tally()
    writers = [pq.ParquetWriter(buckets / f"{b:05d}.parquet", _KEYED) for b in range(n)]
    pending: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    bar = tqdm(unit="docs", desc="mix: write", disable=not progress)
    try:
        for source in sources:
            assert source.chosen is not None
            for i, doc in enumerate(source.documents()):
                if not source.chosen[i]:
                    continue
                doc.n_tokens = source.tokens[i]
                if source.side == "real" and not doc.genre:
                    doc.genre = "real_text"
                row = {**doc.to_row(), "source": source.name, "_key": source.keys[i]}
                tally.add(source.name, row)
                b = source.keys[i] % n
                pending[b].append(row)
                if len(pending[b]) >= 1000:
                    writers[b].write_table(pa.Table.from_pylist(pending[b], schema=_KEYED))
                    pending[b] = []
                bar.update(1)
        for b, rows in enumerate(pending):
            if rows:
                writers[b].write_table(pa.Table.from_pylist(rows, schema=_KEYED))
    finally:
        for w in writers:
            w.close()
        bar.close()
    return tally


def _shards(buckets: Path, shards: Path, n: int, cfg: ShardConfig) -> list[ShardInfo]:
    infos: list[ShardInfo] = []
    for b in range(n):
        table = pq.read_table(buckets / f"{b:05d}.parquet")
        if table.num_rows == 0:
            continue
        table = (
            table.sort_by("_key")
            .drop_columns(["_key"])
            .replace_schema_metadata(MIX_SCHEMA.metadata)
        )
        info = ShardInfo(file=shard_file_name(len(infos)))
        path = shards / info.file
        pq.write_table(table, path, compression="zstd", compression_level=cfg.compression_level)
        info.rows, info.tokens = table.num_rows, int(pc.sum(table["n_tokens"]).as_py())
        info.measure(path)
        infos.append(info)
        (buckets / f"{b:05d}.parquet").unlink()
    return infos


def _manifest(
    sources: list[_Source],
    tally: _Tally,
    infos: list[ShardInfo],
    counter: TokenCounter,
    opts: MixOptions,
) -> dict[str, Any]:
    total = sum(tally.tokens.values()) or 1
    synthetic = sum(tally.tokens[s.name] for s in sources if s.side == "synthetic")

    def table(t: dict[str, Counter[str]]) -> dict[str, dict[str, int]]:
        return {k: {"docs": v["docs"], "tokens": v["tokens"]} for k, v in sorted(t.items())}

    return {
        "version": 1,
        "kind": "mix",
        "tokenizer": counter.name,
        "totals": {
            "documents": sum(i.rows for i in infos),
            "tokens": sum(i.tokens for i in infos),
            "bytes": sum(i.bytes for i in infos),
        },
        "shards": [i.to_json() for i in infos],
        "by_genre": table(tally.by_genre),
        "by_principle": table(tally.by_principle),
        "mix": {
            "requested": {"synthetic": opts.synthetic, "real": opts.real},
            "realised_synthetic_share": round(synthetic / total, 6),
            "requested_synthetic_share": round(opts.synthetic / (opts.synthetic + opts.real), 6),
            "seed": opts.seed,
            "sources": {
                s.name: {
                    "side": s.side,
                    "docs": tally.docs[s.name],
                    "tokens": tally.tokens[s.name],
                    "share": round(tally.tokens[s.name] / total, 6),
                    "available_tokens": int(sum(s.tokens)),
                }
                for s in sources
            },
        },
    }


def mix(
    runs: Sequence[Path], corpora: Sequence[Path], out: Path, opts: MixOptions
) -> dict[str, Any]:
    """Write the mixed corpus into `out`; returns its manifest."""
    if opts.synthetic <= 0 or opts.real <= 0:
        raise InputError("--ratio: both sides must be positive, e.g. 1:1 or 1:99")
    sources = _sources(runs, corpora)
    check_output_dir(Path(out))
    counter = _counter(runs, opts.tokenizer)
    _count(sources, counter, opts.seed, opts.progress)
    _choose(sources, opts)
    run = RunFolder(out)
    with staged_folder(run.root, "mix") as staging:
        n = _bucket_count(sources, opts.shard)
        (staging / "buckets").mkdir()
        (staging / SHARDS_DIR).mkdir()
        tally = _route(sources, staging / "buckets", n, opts.progress)
        infos = _shards(staging / "buckets", staging / SHARDS_DIR, n, opts.shard)
        manifest = _manifest(sources, tally, infos, counter, opts)
        publish(run.root, staging, [SHARDS_DIR], [(MANIFEST, manifest)])
    write_text_atomic(run.card, render_card(run.root, run_configs(), run.shards()))
    return manifest
