"""Shards as the tools downstream see them, with no code of ours: datasets and DuckDB."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from click.testing import CliRunner

from sdf_corpus.cli import main


def test_datasets_sees_conversations(built_run: Path, tmp_path: Path) -> None:
    files = sorted(str(p) for p in (built_run / "shards").glob("*.parquet"))
    ds = datasets.load_dataset(
        "parquet", data_files=files, split="train", cache_dir=str(tmp_path / "cache")
    )
    message = ds.features["messages"].feature
    assert message["role"] == datasets.Value("string")
    assert message["content"] == datasets.Value("string")
    assert set(message) == {"role", "content", "tool_calls", "tool_call_id", "name"}
    assert ds.features["attributes"].feature["key"] == datasets.Value("string")
    chat = [r for r in ds if r["format"] == "chat"]
    assert chat and all(isinstance(r["messages"], list) for r in chat)
    roles = {m["role"] for r in chat for m in r["messages"]}
    assert {"user", "assistant"} <= roles
    calls = [c for r in chat for m in r["messages"] for c in (m["tool_calls"] or [])]
    assert calls and all(isinstance(json.loads(c["function"]["arguments"]), dict) for c in calls)


def test_duckdb_unnests_messages(built_run: Path) -> None:
    glob = str(built_run / "shards" / "*.parquet")
    roles = duckdb.sql(
        f"SELECT m.role, count(*) FROM (SELECT unnest(messages) AS m FROM read_parquet('{glob}')) "
        "GROUP BY m.role"
    ).fetchall()
    assert {"user", "assistant"} <= {r for r, _ in roles}
    authors = duckdb.sql(
        f"SELECT map_from_entries(attributes)['round'] FROM read_parquet('{glob}')"
    ).fetchall()
    assert all(a[0] for a in authors)
    trims = duckdb.sql(f"SELECT quality.trimmed FROM read_parquet('{glob}')").fetchall()
    assert len(trims) == len(authors)


def _legacy_copy(run: Path, dest: Path) -> Path:
    """The run as an older sdf-corpus wrote it: nested values as JSON text."""
    (dest / "shards").mkdir(parents=True)
    for shard in sorted((run / "shards").glob("*.parquet")):
        table = pq.read_table(shard)
        for name in ("messages", "attributes", "quality"):
            values = [None if v is None else json.dumps(v) for v in table.column(name).to_pylist()]
            i = table.schema.get_field_index(name)
            table = table.set_column(i, name, pa.array(values, pa.string()))
        pq.write_table(table, dest / "shards" / shard.name)
    return dest


def test_older_runs_export_or_say_how_to_reclean(built_run: Path, tmp_path: Path) -> None:
    old = _legacy_copy(built_run, tmp_path / "old")
    out = tmp_path / "old.jsonl"
    result = CliRunner().invoke(
        main, ["export", str(old), "--format", "jsonl-messages", "--out", str(out), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert lines and all(isinstance(x["messages"], list) for x in lines)
    result = CliRunner().invoke(main, ["export", str(old), "--format", "hf", "--no-progress"])
    assert result.exit_code == 2
    assert "older sdf-corpus" in result.output and "sdf-corpus clean" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (old / "export" / "hf").exists()
