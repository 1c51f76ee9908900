"""Done-when of the closed budget loop: builds of corpora/demo.yaml against a fake
provider that writes far longer, or far shorter with junk, than asked land the
shards within the bounds (docs/budget.md), with the surplus counted in the reserve."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from fakeprovider.lengths import scaled
from fakeprovider.server import FakeProvider
from runfiles import kept_rows, ledger_rows, shard_rows
from sdf_corpus.budget.bounds import GENRE_TOLERANCE, TOTAL_TOLERANCE, within
from sdf_corpus.budget.select import Candidate, select
from sdf_corpus.cli import main

REPO = Path(__file__).resolve().parents[2]
KEY = "sk-ant-test-DUMMY-KEY-0123456789"


def build_args(provider: FakeProvider, run: Path, tokens: int) -> list[str]:
    backend = (
        f"backend={{provider: anthropic, model: claude-haiku-4-5, api_base: '{provider.url}', "
        "concurrency: 8, timeout: 5.0, retry_base_delay: 0.02, retry_max_delay: 0.2, "
        "batch: {poll_initial: 0.02, poll_max: 0.1}}"
    )
    args = ["build", str(REPO / "corpora" / "demo.yaml"), "--out", str(run), "--no-progress"]
    return [*args, "--set", backend, "--set", f"budget.tokens={tokens}"]


def build(provider: FakeProvider, run: Path, tokens: int, *extra: str) -> Result:
    args = build_args(provider, run, tokens)
    return CliRunner(env={"ANTHROPIC_API_KEY": KEY}).invoke(main, [*args, *extra])


def assert_lands(run: Path, tokens: int) -> dict[str, Any]:
    """The shards within +-3 % (or one document) of the budget and each genre within
    +-5 % (or one document) of its target; the reserve counted, and every document
    generated either kept, in reserve or dropped."""
    manifest = json.loads((run / "manifest.json").read_text())
    stats = json.loads((run / "clean_stats.json").read_text())
    totals = manifest["totals"]
    one = totals["tokens"] / totals["documents"]
    assert within(totals["tokens"], tokens, TOTAL_TOLERANCE, one), (totals, tokens)
    targets = json.loads(ledger_rows(run, "SELECT value FROM meta WHERE key='targets'")[0][0])
    for genre, target in targets.items():
        held = manifest["by_genre"].get(genre, {"docs": 0, "tokens": 0})
        mean = held["tokens"] / held["docs"] if held["docs"] else one
        assert within(held["tokens"], target, GENRE_TOLERANCE, mean), (genre, held, target)
    reserve = manifest["reserve"]
    files = reserve["files"]
    assert reserve["totals"]["documents"] == sum(f["rows"] for f in files)
    assert sum(pq.read_metadata(run / "reserve" / f["file"]).num_rows for f in files) == sum(
        f["rows"] for f in files
    )
    assert stats["reserve"]["docs"] == reserve["totals"]["documents"]
    assert stats["input"]["docs"] == (
        stats["kept"]["docs"] + stats["reserve"]["docs"] + stats["dropped"]["docs"]
    )
    assert stats["kept"]["docs"] == totals["documents"]
    return manifest


@pytest.mark.parametrize("tokens", [30_000, 90_000])
@pytest.mark.parametrize(
    "mode", [pytest.param((2.5, 0.0), id="long"), pytest.param((0.5, 0.2), id="short_junk")]
)
def test_demo_lands_on_its_budget_against_a_writer_that_misses_the_length(
    fake_provider: FakeProvider, tmp_path: Path, tokens: int, mode: tuple[float, float]
) -> None:
    fake_provider.responder = scaled(*mode)
    result = build(fake_provider, tmp_path / "run", tokens)
    assert result.exit_code == 0, result.output + result.stderr
    assert_lands(tmp_path / "run", tokens)


def test_a_larger_budget_takes_the_reserve_before_sending_anything(
    fake_provider: FakeProvider, tmp_path: Path
) -> None:
    """The loop itself keeps little beyond the cut (about half a document per genre, and
    what was in flight when it stopped), so the 30k run first sends its whole plan
    (`generate` does, against a writer of 2.5x the length): a reserve worth a raise."""
    fake_provider.responder = scaled(2.5)
    run = tmp_path / "run"
    generate = ["generate", *build_args(fake_provider, run, 30_000)[1:]]
    sent = CliRunner(env={"ANTHROPIC_API_KEY": KEY}).invoke(main, generate)
    assert sent.exit_code == 0, sent.output + sent.stderr
    assert build(fake_provider, run, 30_000).exit_code == 0
    manifest = assert_lands(run, 30_000)
    assert manifest["reserve"]["totals"]["tokens"] > 0
    raised = _covered(run, 40_000)
    assert raised > 30_000 * 1.02  # the reserve is worth a real raise
    sent = fake_provider.count
    result = build(fake_provider, run, raised)
    assert result.exit_code == 0, result.output + result.stderr
    assert fake_provider.count == sent  # no request: the reserve covered the raise
    assert_lands(run, raised)


def _covered(run: Path, upto: int) -> int:
    """The largest budget up to `upto` (in steps of 500) whose every genre the run's
    documents (shards and reserve) cover: each genre's walk in plan order finds a document
    past its target, so the cut is final (`budget.select`)."""
    weights = json.loads(ledger_rows(run, "SELECT value FROM meta WHERE key='weights'")[0][0])
    total = sum(weights.values())
    order = dict(ledger_rows(run, "SELECT id, idx FROM jobs WHERE active=1"))
    rows = sorted(kept_rows(run), key=lambda r: order[r["id"]])
    docs = [Candidate(r["id"], r["genre"], int(r["n_tokens"])) for r in rows]
    best = 0
    for budget in range(30_000, upto + 1, 500):
        targets = {g: round(budget * w / total) for g, w in weights.items()}
        if not select(docs, targets, budget).open:
            best = budget
    return best


def shard_ids(run: Path) -> set[str]:
    return {str(r["id"]) for r in shard_rows(run)}


@pytest.fixture(scope="module")
def one_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[set[str]]:
    """What one plain build at 30k against the short writer with junk keeps in its
    shards: the documents every other way of building must keep."""
    fake = FakeProvider().start()
    fake.responder = scaled(0.5, junk=0.2)
    try:
        run = tmp_path_factory.mktemp("one") / "run"
        result = build(fake, run, 30_000)
        assert result.exit_code == 0, result.output + result.stderr
        assert_lands(run, 30_000)
        sent = fake.count
        again = build(fake, run, 30_000)  # a finished build run again does no work
        assert again.exit_code == 0 and fake.count == sent, again.output + again.stderr
        yield shard_ids(run)
    finally:
        fake.stop()


@pytest.mark.parametrize("extra", [["--workers", "2"], ["--batch"]], ids=["workers", "batch"])
def test_workers_and_batches_land_within_the_bounds(
    fake_provider: FakeProvider, tmp_path: Path, extra: list[str], one_process: set[str]
) -> None:
    """And keep the same documents as one process: the cut is made in plan order."""
    fake_provider.responder = scaled(0.5, junk=0.2)
    result = build(fake_provider, tmp_path / "run", 30_000, *extra)
    assert result.exit_code == 0, result.output + result.stderr
    assert_lands(tmp_path / "run", 30_000)
    assert shard_ids(tmp_path / "run") == one_process
    if extra == ["--batch"]:  # the first batch carries half the expected need, the next
        # ones what the earlier returned asks for
        assert ledger_rows(tmp_path / "run", "SELECT COUNT(*) FROM batches")[0][0] >= 2


def test_a_build_killed_mid_way_resumes_within_the_bounds(
    fake_provider: FakeProvider, tmp_path: Path, one_process: set[str]
) -> None:
    fake_provider.latency = 0.05
    fake_provider.responder = scaled(0.5, junk=0.2)
    run = tmp_path / "run"
    env = {**os.environ, "ANTHROPIC_API_KEY": KEY}
    args = [sys.executable, "-m", "sdf_corpus", *build_args(fake_provider, run, 30_000)]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while fake_provider.count < 40 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, "the build ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    result = build(fake_provider, run, 30_000)
    assert result.exit_code == 0, result.output + result.stderr
    assert_lands(run, 30_000)
    total, distinct = ledger_rows(
        run, "SELECT COUNT(*), COUNT(DISTINCT job_id||'/'||stage) FROM outputs"
    )[0]
    assert total == distinct  # every stage stored once: nothing was paid twice
    assert shard_ids(run) == one_process  # the same documents as a build never killed


def test_slices_then_merge_then_build_land_within_the_bounds(
    fake_provider: FakeProvider, tmp_path: Path
) -> None:
    """Each `generate --shard I/2` sends its part of the plan; the merged run's build
    sends only what the slices together fell short of, and reserves the surplus."""
    fake_provider.responder = scaled(2.5)
    run = tmp_path / "run"
    args = build_args(fake_provider, run, 30_000)
    runner = CliRunner(env={"ANTHROPIC_API_KEY": KEY})
    for i in range(2):
        sliced = runner.invoke(main, ["generate", *args[1:], "--shard", f"{i}/2"])
        assert sliced.exit_code == 0, sliced.output + sliced.stderr
    same = [a for a in args[1:] if a != "--no-progress"]  # the same spec and --set options
    merged = runner.invoke(main, ["merge", *same])
    assert merged.exit_code == 0, merged.output + merged.stderr
    result = build(fake_provider, run, 30_000)
    assert result.exit_code == 0, result.output + result.stderr
    manifest = assert_lands(run, 30_000)
    assert manifest["reserve"]["totals"]["documents"] > 0  # 2.5x answers: the plan overshoots


def test_the_report_shows_each_genres_target_kept_reserve_and_drop_rate(
    fake_provider: FakeProvider, tmp_path: Path
) -> None:
    """report.json's budget section agrees with the manifest and the ledger's targets, and
    report.html carries it: a user reads the landing there, not in the ledger."""
    fake_provider.responder = scaled(0.5, junk=0.2)  # a fifth of answers are junk: drops
    run = tmp_path / "run"
    assert build(fake_provider, run, 30_000).exit_code == 0
    result = CliRunner().invoke(main, ["report", str(run)])
    assert result.exit_code == 0, result.output + result.stderr
    figures = json.loads((run / "report.json").read_text())["budget"]
    manifest = json.loads((run / "manifest.json").read_text())
    targets = json.loads(ledger_rows(run, "SELECT value FROM meta WHERE key='targets'")[0][0])
    assert figures["asked"] == 30_000
    assert figures["kept"] == manifest["totals"]["tokens"]
    assert figures["reserve"] == manifest["reserve"]["totals"]["tokens"]
    assert figures["kept_to_asked"] == round(manifest["totals"]["tokens"] / 30_000, 4)
    assert figures["waves"] >= 0
    assert set(figures["genres"]) >= set(targets)
    for genre, target in targets.items():
        row = figures["genres"][genre]
        held = manifest["by_genre"].get(genre, {"tokens": 0})["tokens"]
        kept_back = manifest["reserve"]["by_genre"].get(genre, {"tokens": 0})["tokens"]
        assert (row["target"], row["kept"], row["reserve"]) == (target, held, kept_back)
        assert row["drop_rate"] is None or 0.0 <= row["drop_rate"] < 1.0
    # The junk answers were measured as drops in at least one genre.
    assert any((row["drop_rate"] or 0.0) > 0 for row in figures["genres"].values())
    html = (run / "report.html").read_text()
    assert "measured drop rate" in html and f"{figures['kept']:,}" in html
