"""End to end on the bundled local model (Gemma 3 270M through llama-cpp-python):
a handful of short documents generated offline, cleaned, sharded and reported."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from sdf_corpus.cli import main
from sdf_corpus.runfolder.rows import iter_rows

pytest.importorskip("llama_cpp", reason="the local extra is not installed: pip install '.[local]'")

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_demo_spec_builds_offline_on_the_local_model(tmp_path: Path) -> None:
    spec = REPO / "corpora" / "demo.yaml"
    args = [
        "build",
        str(spec),
        "--out",
        str(tmp_path / "run"),
        "--no-progress",
        "--set",
        "genres=[blog_post, good_mental_health_story]",
        "--set",
        "mix={}",
        "--set",
        "budget={tokens: 150, max_rounds: 1, expected_drop_rate: 0.0}",
        "--set",
        "genre_overrides={blog_post: {local: {max_tokens: 96}}, "
        "good_mental_health_story: {local: {max_tokens: 96}}}",
    ]
    result = CliRunner().invoke(main, args)
    run = tmp_path / "run"
    manifest = json.loads((run / "manifest.json").read_text())
    stats = json.loads((run / "clean_stats.json").read_text())
    # One round of two jobs: short of the 150-token budget it exits 6 and says why.
    expected = 0 if stats["kept"]["tokens"] >= 150 else 6
    assert result.exit_code == expected, result.output + result.stderr
    assert stats["input"]["docs"] == 2  # both jobs generated
    kept = stats["kept"]["docs"]
    assert kept + stats["dropped"]["docs"] == 2
    rows = sum(pq.read_metadata(run / "shards" / s["file"]).num_rows for s in manifest["shards"])
    assert rows == kept == manifest["totals"]["documents"]
    for shard in manifest["shards"]:
        table = pq.read_table(run / "shards" / shard["file"])
        assert set(table.column("backend").to_pylist()) == {"local"}
    # re-running a finished build does no work
    again = CliRunner().invoke(main, args)
    assert again.exit_code == expected
    assert '"requests": 0' in again.output


@pytest.mark.slow
def test_first_person_genres_build_offline_on_the_local_model(tmp_path: Path) -> None:
    spec = REPO / "corpora" / "demo.yaml"
    run = tmp_path / "run"
    args = [
        "build",
        str(spec),
        "--out",
        str(run),
        "--no-progress",
        "--set",
        "genres=[first_person_reflection, first_person_chat]",
        "--set",
        "mix={}",
        "--set",
        "budget={tokens: 150, max_rounds: 1, expected_drop_rate: 0.0}",
        "--set",
        "genre_overrides={first_person_reflection: {local: {max_tokens: 96}}, "
        "first_person_chat: {local: {max_tokens: 96}}}",
    ]
    result = CliRunner().invoke(main, args)
    stats = json.loads((run / "clean_stats.json").read_text())
    # A 96-token cap can cut both documents; a build short of its budget exits 6 and says why.
    expected = 0 if stats["kept"]["tokens"] >= 150 else 6
    assert result.exit_code == expected, result.output + result.stderr
    assert stats["input"]["docs"] == 2  # one job of each genre generated
    manifest = json.loads((run / "manifest.json").read_text())
    rows = [
        row for shard in manifest["shards"] for row in iter_rows([run / "shards" / shard["file"]])
    ]
    rejected = run / "rejected" / "rejected.jsonl"
    if rejected.exists():  # dropped rows are checked too, so the test never passes empty
        rows += [json.loads(line) for line in rejected.read_text().splitlines()]
    assert sorted(row["genre"] for row in rows) == ["first_person_chat", "first_person_reflection"]
    for row in rows:
        assert row["attributes"]["about"] == "subject"
        if row["genre"] == "first_person_chat":
            messages = row["messages"]
            assert [m["role"] for m in messages] == ["user", "assistant"]
            assert messages[1]["content"].startswith("It is my own view")
            assert "Questions for" not in row["text"]  # the read-only context
