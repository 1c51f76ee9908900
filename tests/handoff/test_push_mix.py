"""`sdf-corpus push` against a loopback Hub, and `sdf-corpus mix` at stated ratios."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import datasets
import pytest
from click.testing import CliRunner

from fakehub import FakeHub
from runfiles import shard_rows
from sdf_corpus.cli import main

TOKEN = "hf_TESTtoken0123456789abcdefSECRET"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeHub]:
    server = FakeHub().start()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    try:
        yield server
    finally:
        server.stop()


def test_dry_run_lists_and_uploads_nothing(built_run: Path, hub: FakeHub) -> None:
    result = CliRunner().invoke(main, ["push", str(built_run), "me/sdf-test", "--dry-run"])
    assert result.exit_code == 0, result.output
    listed = [line.split("\t")[0] for line in result.output.splitlines() if "\t" in line]
    assert listed[0] == "README.md" and "manifest.json" in listed
    assert sorted(p for p in listed if p.startswith("shards/")) == sorted(
        f"shards/{p.name}" for p in (built_run / "shards").glob("*.parquet")
    )
    assert "ledger.sqlite" not in result.output and "rejected" not in result.output
    assert hub.bodies == []


def test_push_needs_a_token(built_run: Path, hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    result = CliRunner().invoke(main, ["push", str(built_run), "me/sdf-test"])
    assert result.exit_code == 2 and "HF_TOKEN" in result.output
    assert hub.bodies == []


def test_push_uploads_through_huggingface_hub_and_never_writes_the_token(
    built_run: Path, hub: FakeHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    result = CliRunner().invoke(main, ["push", str(built_run), "me/sdf-test", "--private"])
    assert result.exit_code == 0, result.output
    assert (
        hub.repos["me/sdf-test"].get(
            "visibility", "private" if hub.repos["me/sdf-test"].get("private") else None
        )
        == "private"
    )
    stored = hub.files["me/sdf-test"]
    for path in [
        "README.md",
        "manifest.json",
        *(f"shards/{p.name}" for p in (built_run / "shards").glob("*.parquet")),
    ]:
        assert stored[path] == (built_run / path).read_bytes()
    assert all(h.get("authorization") == f"Bearer {TOKEN}" for h in hub.headers)
    assert TOKEN not in result.output
    for root in (built_run, tmp_path / "hf-home", tmp_path):
        for f in root.rglob("*"):
            if f.is_file():
                assert TOKEN.encode() not in f.read_bytes(), f
    assert all(TOKEN.encode() not in body for body in hub.bodies)


def _real_corpus(path: Path, n_docs: int, seed: int) -> Path:
    """Plain English documents of varied length, as a user's own JSONL corpus."""
    words = (REPO / "constitution" / "example.md").read_text().split()
    rng = random.Random(seed)
    with path.open("w") as f:
        for i in range(n_docs):
            start = rng.randrange(0, len(words) - 400)
            f.write(
                json.dumps(
                    {
                        "id": f"web-{i}",
                        "text": " ".join(words[start : start + rng.randrange(40, 400)]),
                    }
                )
                + "\n"
            )
    return path


# Enough real text that the synthetic side is the scarcer one (kept whole) and the real
# side is cut at the granularity of its short documents.
@pytest.mark.parametrize(("ratio", "share", "n_real"), [("1:1", 0.5, 80), ("1:99", 0.01, 7000)])
def test_mix_realises_the_ratio(
    built_run: Path, tmp_path: Path, ratio: str, share: float, n_real: int
) -> None:
    real = _real_corpus(tmp_path / "web.jsonl", n_real, 1)
    out = tmp_path / "mixed"
    args = [
        "mix",
        str(built_run),
        "--with",
        str(real),
        "--ratio",
        ratio,
        "--out",
        str(out),
        "--no-progress",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    rows = shard_rows(out)
    synthetic = sum(r["n_tokens"] for r in rows if r["source"] == built_run.name)
    total = sum(r["n_tokens"] for r in rows)
    assert abs(synthetic / total - share) <= 0.01 * share + 1e-9  # within 1% of the ask
    assert manifest["mix"]["realised_synthetic_share"] == pytest.approx(synthetic / total, abs=1e-6)
    assert set(manifest["mix"]["sources"]) == {built_run.name, "web.jsonl"}
    sources = [r["source"] for r in rows]
    assert sources != sorted(sources)  # shuffled together, not concatenated
    again = tmp_path / "again"
    CliRunner().invoke(main, [*args[:-3], "--out", str(again), "--no-progress"])
    assert [r["id"] for r in shard_rows(again)] == [r["id"] for r in rows]
    # every export accepts a mix
    hf = tmp_path / "hf"
    assert (
        CliRunner()
        .invoke(main, ["export", str(out), "--format", "hf", "--out", str(hf), "--no-progress"])
        .exit_code
        == 0
    )
    ds = datasets.load_dataset(str(hf), split="train", cache_dir=str(tmp_path / "c"))
    assert len(ds) == len(rows) and "source" in ds.column_names
    text = tmp_path / "t.jsonl"
    assert (
        CliRunner()
        .invoke(main, ["export", str(out), "--format", "text", "--out", str(text), "--no-progress"])
        .exit_code
        == 0
    )
    assert {json.loads(x)["source"] for x in text.read_text().splitlines()} == {
        built_run.name,
        "web.jsonl",
    }


def test_an_hf_export_pushes_with_its_configs(
    built_run: Path, hub: FakeHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    hf = tmp_path / "hf"
    args = ["export", str(built_run), "--format", "hf", "--out", str(hf), "--no-progress"]
    assert CliRunner().invoke(main, args).exit_code == 0
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    result = CliRunner().invoke(main, ["push", str(hf), "me/sdf-hf"])
    assert result.exit_code == 0, result.output
    stored = hub.files["me/sdf-hf"]
    assert stored["README.md"] == (hf / "README.md").read_bytes()
    data = {p.relative_to(hf).as_posix() for p in (hf / "data").rglob("*.parquet")}
    assert data and data <= set(stored)
