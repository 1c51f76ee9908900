"""Put judgements into the corpus: a `judge` struct column in every shard, and
documents below `judge.min_scores` moved to `rejected/rejected.jsonl` with reason
`judge_<criterion>` (keeping their scores and justifications).

Runs right after the clean stage has written fresh shards; each shard is
rewritten to a temporary file and renamed, and the manifest (written last) and
clean_stats.json are updated to match, so the run is consistent at every moment
a reader could look.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sdf_corpus.clean.writers import sha256_file, write_json_atomic
from sdf_corpus.judge.rubric import Rubric
from sdf_corpus.shards import decode_row
from sdf_corpus.store import JudgeStore

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
    manifest = json.loads((run_dir / "manifest.json").read_text())
    if "judge" in manifest:
        raise RuntimeError("shards already carry judgements; run the clean stage first")
    drops: Counter[str] = Counter()
    dropped_tokens: Counter[str] = Counter()
    removed: list[tuple[str, str, int]] = []  # (genre, principle, tokens) of each drop
    # Judge drops join the clean stage's rejected.jsonl (one place to inspect every
    # drop): the file is copied, extended and swapped in whole.
    final = run_dir / "rejected" / "rejected.jsonl"
    final.parent.mkdir(exist_ok=True)
    tmp = final.with_suffix(".jsonl.tmp")
    with tmp.open("w", encoding="utf-8") as out:
        if final.is_file():
            with final.open(encoding="utf-8") as previous:
                for line in previous:
                    out.write(line)
        for shard in manifest["shards"]:
            kept = _rewrite_shard(
                run_dir / "shards" / shard["file"],
                store,
                rubric,
                min_scores,
                out,
                drops,
                dropped_tokens,
                removed,
            )
            shard.update(kept)
    os.replace(tmp, final)
    _recount(manifest, removed)
    manifest["judge"] = {
        "rubric": rubric.name,
        "rubric_hash": rubric.digest(),
        "min_scores": min_scores,
        "dropped": dict(drops),
    }
    _update_stats(run_dir, drops, dropped_tokens)
    write_json_atomic(run_dir / "manifest.json", manifest)
    return dict(drops)


def _rewrite_shard(
    path: Path,
    store: JudgeStore,
    rubric: Rubric,
    min_scores: dict[str, int],
    rejected: Any,
    drops: Counter[str],
    dropped_tokens: Counter[str],
    removed: list[tuple[str, str, int]],
) -> dict[str, Any]:
    table = pq.read_table(path)
    values = [_judge_value(store.get(doc_id), rubric) for doc_id in table.column("id").to_pylist()]
    keep = []
    for i, value in enumerate(values):
        failing = _failing(value, min_scores)
        keep.append(failing is None)
        if failing is not None:
            row = decode_row({k: table.column(k)[i].as_py() for k in table.column_names})
            reason = f"judge_{failing}"
            drops[reason] += 1
            dropped_tokens[reason] += int(row.get("n_tokens") or 0)
            removed.append((row["genre"], row["principle_id"], int(row.get("n_tokens") or 0)))
            rejected.write(
                json.dumps(
                    {
                        "reason": reason,
                        "stage": "judge",
                        "detail": json.dumps({"min": min_scores[failing], "score": value[failing]}),
                        "duplicate_of": None,
                        **row,
                        "judge": value,
                    },
                    ensure_ascii=False,
                    default=str,
                )
                + "\n"
            )
    table = table.append_column("judge", pa.array(values, type=_struct_type(rubric)))
    table = table.filter(pa.array(keep, type=pa.bool_()))
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)
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


def _update_stats(run_dir: Path, drops: Counter[str], tokens: Counter[str]) -> None:
    path = run_dir / "clean_stats.json"
    stats = json.loads(path.read_text())
    judge = stats["dropped"]["by_stage"].setdefault("judge", {})
    for reason, n in drops.items():
        judge[reason] = {"docs": n, "tokens": tokens[reason]}
        stats["dropped"]["docs"] += n
        stats["dropped"]["tokens"] += tokens[reason]
        stats["kept"]["docs"] -= n
        stats["kept"]["tokens"] -= tokens[reason]
    write_json_atomic(path, stats)
