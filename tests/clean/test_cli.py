"""`sdf-corpus clean` on a user's own JSONL file."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from click.testing import CliRunner

from sdf_corpus.cli import main
from textsynth import TextSynth


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_clean_user_jsonl_carries_extra_columns(tmp_path: Path) -> None:
    texts = [TextSynth(i).document(400) for i in range(6)]
    rows = [{"text": t, "source": f"crawl-{i}", "score": i / 10} for i, t in enumerate(texts)]
    rows.append({"text": texts[0].upper(), "source": "dup", "score": 0.0})  # exact duplicate
    _write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["clean", str(tmp_path / "in.jsonl"), "--out", str(out), "--no-progress"]
    )
    assert result.exit_code == 0, result.output + result.stderr
    table = pq.read_table(next((out / "shards").glob("*.parquet")))
    assert table.num_rows == 6
    assert sorted(table.column("source").to_pylist()) == sorted(f"crawl-{i}" for i in range(6))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["totals"]["documents"] == 6
    rejected = [json.loads(line) for line in (out / "rejected" / "rejected.jsonl").open()]
    assert [(r["stage"], r["source"]) for r in rejected] == [("exact_dedup", "dup")]


def test_clean_without_text_column_is_a_clear_error(tmp_path: Path) -> None:
    _write_jsonl(tmp_path / "in.jsonl", [{"body": "hello"}, {"body": "there"}])
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["clean", str(tmp_path / "in.jsonl"), "--out", str(out)])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {tmp_path / 'in.jsonl'}: no 'text' column (found: body) "
        "(name the column holding the documents 'text')"
    )
    assert not (out / "manifest.json").exists() and not (out / "shards").exists()


def test_clean_bad_setting_names_the_field(tmp_path: Path) -> None:
    _write_jsonl(tmp_path / "in.jsonl", [{"text": "hello"}])
    result = CliRunner().invoke(
        main,
        [
            "clean",
            str(tmp_path / "in.jsonl"),
            "--out",
            str(tmp_path / "o"),
            "--set",
            "dedup.treshold=0.5",
        ],
    )
    assert result.exit_code == 2
    assert "dedup.treshold: unknown key" in result.stderr
