"""Put judgements into the corpus: a `judge` struct column in every shard, and
documents below `judge.min_scores` moved to `rejected/rejected.jsonl` with reason
`judge_<criterion>` (keeping their scores and justifications).

Runs right after the clean stage has written fresh shards; each shard is
rewritten to a temporary file and renamed, and the manifest (written last) and
clean_stats.json are updated to match, so the run is consistent at every moment
a reader could look.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sdf_corpus.judge.rubric import Rubric
from sdf_corpus.judge.store import JudgeStore
from sdf_corpus.runfolder import (
    RejectWriter,
    RunFolder,
    atomic_file,
    read_clean_stats,
    read_manifest,
    rejected_row,
    sha256_file,
    write_clean_stats,
    write_manifest,
)
from sdf_corpus.runfolder.rows import read_shard
from sdf_corpus.shards import decode_row

__all__ = ["apply_judgements"]


def _struct_type(rubric: Rubric) -> pa.StructType:
    fields = [
        pa.field("status", pa.string()),
        pa.field("rubric", pa.string()),
        pa.field("model", pa.string()),
    ]
    fields += [pa.field(c.id, pa.int8()) for c in rubric.criteria]
    # One sentence per criterion, as a struct so readers see it without parsing JSON.
    fields.append(
        pa.field(
            "justifications", pa.struct([pa.field(c.id, pa.string()) for c in rubric.criteria])
        )
    )
    return pa.struct(fields)


def _judge_value(found: dict[str, Any] | None, rubric: Rubric) -> dict[str, Any]:
    value: dict[str, Any] = {
        "status": "missing",
        "rubric": rubric.digest(),
        "model": None,
        "justifications": None,
    }
    value.update({c.id: None for c in rubric.criteria})
    if found is not None:
        value.update(
            status=found["status"],
            model=found["model"],
            justifications={c.id: found["justifications"].get(c.id) for c in rubric.criteria},
        )
        value.update({c.id: found["scores"].get(c.id) for c in rubric.criteria})
    return value


def _failing(value: dict[str, Any], min_scores: dict[str, int]) -> str | None:
    for criterion, minimum in min_scores.items():
        score = value.get(criterion)
        if score is not None and score < minimum:
            return criterion
    return None


def apply_judgements(
    run_dir: Path, store: JudgeStore, rubric: Rubric, min_scores: dict[str, int]
) -> dict[str, int]:
    """Rewrite the shards with judge scores; returns drops by reason."""
    run = RunFolder(run_dir)
    manifest = read_manifest(run)
    if "judge" in manifest:
        raise RuntimeError("shards already carry judgements; run the clean stage first")
    stats = read_clean_stats(run)
    if stats is None:  # the clean stage writes it with the manifest: checked before any write
        raise RuntimeError(f"{run.clean_stats}: missing; run the clean stage first")
    drops = _Drops()
    # Judge drops join the clean stage's rejected.jsonl (one place to inspect every
    # drop): the file is copied, extended and swapped in whole.
    rejected = RejectWriter(run.rejected_dir, keep_existing=True)
    try:
        for shard in manifest["shards"]:
            shard.update(
                _rewrite_shard(run.shard(shard["file"]), store, rubric, min_scores, rejected, drops)
            )
    except BaseException:
        rejected.abort()
        raise
    rejected.close()
    _recount(manifest, drops.removed)
    manifest["judge"] = {
        "rubric": rubric.name,
        "rubric_hash": rubric.digest(),
        "min_scores": min_scores,
        "dropped": dict(drops.docs),
    }
    for reason, n in drops.docs.items():
        stats.drop_kept("judge", reason, n, drops.tokens[reason])
    write_clean_stats(run, stats)
    write_manifest(run, manifest)
    return dict(drops.docs)


@dataclass
class _Drops:
    docs: Counter[str] = field(default_factory=Counter)  # reason -> documents
    tokens: Counter[str] = field(default_factory=Counter)  # reason -> tokens
    removed: list[tuple[str, str, int]] = field(default_factory=list)  # (genre, principle, tokens)

    def add(self, reason: str, row: dict[str, Any]) -> None:
        tokens = int(row.get("n_tokens") or 0)
        self.docs[reason] += 1
        self.tokens[reason] += tokens
        self.removed.append((row["genre"], row["principle_id"], tokens))


def _rewrite_shard(
    path: Path,
    store: JudgeStore,
    rubric: Rubric,
    min_scores: dict[str, int],
    rejected: RejectWriter,
    drops: _Drops,
) -> dict[str, Any]:
    table = read_shard(path)
    values = [_judge_value(store.get(doc_id), rubric) for doc_id in table.column("id").to_pylist()]
    keep = []
    for i, value in enumerate(values):
        failing = _failing(value, min_scores)
        keep.append(failing is None)
        if failing is not None:
            row = decode_row({k: table.column(k)[i].as_py() for k in table.column_names})
            reason = f"judge_{failing}"
            drops.add(reason, row)
            detail = {"min": min_scores[failing], "score": value[failing]}
            rejected.write_row(rejected_row({**row, "judge": value}, "judge", reason, detail))
    table = table.append_column("judge", pa.array(values, type=_struct_type(rubric)))
    table = table.filter(pa.array(keep, type=pa.bool_()))
    with atomic_file(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    tokens = pc.sum(table.column("n_tokens")).as_py() or 0
    return {
        "rows": table.num_rows,
        "tokens": int(tokens),
        "bytes": path.stat().st_size,
        "sha256": sha256_file(path),
    }


def _recount(manifest: dict[str, Any], removed: list[tuple[str, str, int]]) -> None:
    """Take the judge's drops off the clean stage's totals (no shard is read again)."""
    for genre, principle, tokens in removed:
        for table, key in ((manifest["by_genre"], genre), (manifest["by_principle"], principle)):
            if key not in table:  # documents without a genre/principle are in totals only
                continue
            entry = table[key]
            entry["docs"] -= 1
            entry["tokens"] -= tokens
            if entry["docs"] == 0:
                del table[key]
    shards = manifest["shards"]
    manifest["totals"] = {
        "documents": sum(s["rows"] for s in shards),
        "tokens": sum(s["tokens"] for s in shards),
        "bytes": sum(s["bytes"] for s in shards),
    }
