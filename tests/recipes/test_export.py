"""`sdf-corpus export`: a build's shards round-trip to trainer JSONL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from sdf_corpus.cli import main
from sdf_corpus.cli.export import export

from .conftest import shard_rows


def test_round_trip_from_a_build(recipe_spec: Callable[..., Path], tmp_path: Path) -> None:
    spec = recipe_spec(
        genres=["difficult_advice", "agentic_transcript", "blog_post"],
        budget={"tokens": 9000, "max_rounds": 1},
    )
    built = CliRunner().invoke(main, ["build", str(spec), "--no-progress"])
    # a one-round build may end short of its budget: exit 6, saying why
    assert built.exit_code in (0, 6), built.output
    run = tmp_path / "run"
    rows = {r["id"]: r for r in shard_rows(run)}
    chat = {i for i, r in rows.items() if r["format"] == "chat"}
    assert chat and len(chat) < len(rows)

    result = CliRunner().invoke(export, [str(run), "--format", "jsonl-messages"])
    assert result.exit_code == 0, result.output
    assert f"skipped {len(rows) - len(chat)} document-format" in result.output
    lines = [json.loads(x) for x in (run / "export" / "messages.jsonl").read_text().splitlines()]
    assert {x["id"] for x in lines} == chat
    for line in lines:
        row = rows[line["id"]]
        assert line["genre"] == row["genre"]
        assert line["messages"] == row["messages"]
        if row["tools"]:
            assert line["tools"] == row["tools"]
        else:
            assert "tools" not in line
    assert any("tools" in x for x in lines)

    out = tmp_path / "all.jsonl"
    result = CliRunner().invoke(export, [str(run), "--format", "text", "--out", str(out)])
    assert result.exit_code == 0, result.output
    texts = [json.loads(x) for x in out.read_text().splitlines()]
    assert {x["id"]: x["text"] for x in texts} == {i: r["text"] for i, r in rows.items()}
    assert not list(tmp_path.rglob("*.tmp"))


def test_no_shards_is_a_user_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(export, [str(tmp_path), "--format", "text"])
    assert result.exit_code == 2
    assert "no Parquet shards" in result.output
    assert not (tmp_path / "export").exists()
