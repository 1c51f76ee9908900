"""End to end on the bundled local model (Gemma 3 270M through llama-cpp-python):
a handful of short documents generated offline, cleaned, sharded and reported.

What the model samples decides whether a document survives the filters, so these
tests assert what holds for any sample: the exit code follows the rules of
docs/failures.md applied to what the run folder holds, the counts add up, and
every row has the right shape. `SDF_E2E_SEED` and `SDF_E2E_TEMPERATURE` change
what is sampled (the shipped seed and the stage's temperature by default):

    SDF_E2E_SEED=7 SDF_E2E_TEMPERATURE=1.4 pytest tests/test_e2e_local.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from sdf_corpus.budget.bounds import TOTAL_TOLERANCE, short
from sdf_corpus.cli import main
from sdf_corpus.runfolder.rows import iter_rows

pytest.importorskip("llama_cpp", reason="the local extra is not installed: pip install '.[local]'")

REPO = Path(__file__).resolve().parents[1]
BUDGET = 150


def _args(run: Path, genres: list[str]) -> list[str]:
    seed = os.environ.get("SDF_E2E_SEED")
    temperature = os.environ.get("SDF_E2E_TEMPERATURE")
    local = "max_tokens: 96" + (f", temperature: {temperature}" if temperature else "")
    overrides = ", ".join(f"{g}: {{local: {{{local}}}}}" for g in genres)
    args = [
        "build",
        str(REPO / "corpora" / "demo.yaml"),
        "--out",
        str(run),
        "--no-progress",
        "--set",
        f"genres=[{', '.join(genres)}]",
        "--set",
        "mix={}",
        "--set",
        f"budget={{tokens: {BUDGET}, max_rounds: 1, expected_drop_rate: 0.0}}",
        "--set",
        f"genre_overrides={{{overrides}}}",
    ]
    return args + (["--set", f"seed={seed}"] if seed else [])


def _assert_outcome(result: Result, run: Path, genres: list[str]) -> dict[str, Any]:
    """The exit code is the one docs/failures.md gives for what the run folder holds,
    and the counts of clean_stats.json, manifest.json and the shards add up."""
    stats = json.loads((run / "clean_stats.json").read_text())
    manifest = json.loads((run / "manifest.json").read_text())
    kept_docs, kept_tokens = manifest["totals"]["documents"], manifest["totals"]["tokens"]
    reserve = manifest.get("reserve", {}).get("totals", {"documents": 0, "tokens": 0})
    # Every generated document is kept, held in reserve or dropped with a reason.
    # At least one job of each genre; the closed loop sends more while a genre is short.
    assert stats["input"]["docs"] >= len(genres)
    generated = stats["input"]["docs"]
    assert kept_docs + reserve["documents"] + stats["dropped"]["docs"] == generated
    rows = sum(pq.read_metadata(run / "shards" / s["file"]).num_rows for s in manifest["shards"])
    assert rows == kept_docs
    assert sum(g["docs"] for g in manifest["by_genre"].values()) == kept_docs
    assert sum(g["tokens"] for g in manifest["by_genre"].values()) == kept_tokens
    # The rules: empty, short of the budget by more than its bound, or a planned genre
    # (each has a job here) with no document exits 6; anything else exits 0.
    one = kept_tokens / kept_docs if kept_docs else 0.0
    missing = [g for g in genres if manifest["by_genre"].get(g, {}).get("docs", 0) == 0]
    is_short = kept_docs == 0 or short(kept_tokens, BUDGET, TOTAL_TOLERANCE, one)
    expected = 6 if is_short or missing else 0
    assert result.exit_code == expected, result.output + result.stderr
    if is_short:
        assert "ended with no documents" in result.stderr or "ended short" in result.stderr
    elif missing:
        assert f"ended with no document of {', '.join(missing)}" in result.stderr
    for genre in missing:  # the outcome paragraph names the genre and why
        assert f"{genre} fell short of its mix target" in result.stdout
    return manifest


@pytest.mark.slow
def test_demo_spec_builds_offline_on_the_local_model(tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = _args(run, ["blog_post", "good_mental_health_story"])
    result = CliRunner().invoke(main, args)
    manifest = _assert_outcome(result, run, ["blog_post", "good_mental_health_story"])
    for shard in manifest["shards"]:
        table = pq.read_table(run / "shards" / shard["file"])
        assert set(table.column("backend").to_pylist()) == {"local"}
    # re-running a finished build does no work, and ends the same way
    again = CliRunner().invoke(main, args)
    assert again.exit_code == result.exit_code
    assert '"requests": 0' in again.output


@pytest.mark.slow
def test_first_person_genres_build_offline_on_the_local_model(tmp_path: Path) -> None:
    run = tmp_path / "run"
    genres = ["first_person_reflection", "first_person_chat"]
    result = CliRunner().invoke(main, _args(run, genres))
    manifest = _assert_outcome(result, run, genres)
    rows = [
        row for shard in manifest["shards"] for row in iter_rows([run / "shards" / shard["file"]])
    ]
    for folder in ("reserve", "rejected"):  # every row is checked, so the test never passes empty
        for path in sorted((run / folder).glob("*.parquet")):
            rows += list(iter_rows([path]))
    rejected = run / "rejected" / "rejected.jsonl"
    if rejected.exists():
        rows += [json.loads(line) for line in rejected.read_text().splitlines()]
    assert {row["genre"] for row in rows} == set(genres)
    for row in rows:
        assert row["attributes"]["about"] == "subject"
        if row["genre"] == "first_person_chat":
            messages = row["messages"]
            assert [m["role"] for m in messages] == ["user", "assistant"]
            assert messages[1]["content"].startswith("It is my own view")
            assert "Questions for" not in row["text"]  # the read-only context
