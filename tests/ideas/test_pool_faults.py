"""Issue 28, "Pool under faults": the idea pool under kill -9, `--workers 2`, `--shard` +
`merge` and `--batch`, against the fake's "retold plots" mode (half the ideas it offers
are six shared plots, so a cell's pool has repeats to refuse).

Each way must pay no idea twice, give no two jobs of a cell the same idea, and keep the
same documents as one plain build of the same spec.
"""

from __future__ import annotations

import os
import random
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from fakeprovider.retold import RetoldLog
from fakeprovider.server import FakeProvider
from killing import kill_when, start_cli
from runfiles import ledger_rows, shard_rows
from sdf_corpus.cli import main

from .retold_run import (
    REPO,
    assert_batch_priced,
    assert_cells_distinct,
    assert_paid_once,
    small_constitution,
)

pytestmark = pytest.mark.slow

DUMMY_KEY = "sk-ant-test-DUMMY-KEY-0123456789"
CONCURRENCY = 4
FAST_POLL = {"poll_initial": 0.02, "poll_max": 0.1}


# A build may end short of its budget (exit 6: one round, and the semantic step drops
# retellings); what these tests compare is which documents it keeps.
DONE = (0, 6)


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args])
    return result.exit_code, result.stdout + result.stderr


def _spec(
    write_spec: Callable[..., Path],
    url: str,
    folder: Path,
    ideas: dict[str, Any] | None = None,
    **backend: Any,
) -> Path:
    """Two genres on two principles: about 35 jobs, so each cell's pool serves many."""
    return write_spec(
        constitution=str(small_constitution(folder)),
        ideas=ideas or {},
        genres=["blog_post", "news_article"],
        budget={"tokens": 32000, "max_rounds": 1},
        backend={
            "provider": "anthropic",
            "model": "claude-haiku-4-5",
            "api_base": url,
            "concurrency": CONCURRENCY,
            "timeout": 5.0,
            "retry_base_delay": 0.02,
            "retry_max_delay": 0.2,
            **backend,
        },
    )


def _kept(run: Path) -> list[str]:
    return sorted(row["id"] for row in shard_rows(run))


@pytest.fixture(scope="module")
def baseline(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, list[str], RetoldLog]]:
    """One plain build: the documents every other way must keep."""
    folder = tmp_path_factory.mktemp("baseline")
    fake = FakeProvider().start()
    log = fake.retold(share=0.5)
    saved = os.environ.get("ANTHROPIC_API_KEY")
    os.environ["ANTHROPIC_API_KEY"] = DUMMY_KEY
    try:
        spec = _spec(_writer(folder), fake.url, folder)
        code, out = _cli("build", str(spec), "--no-progress")
        assert code in DONE, out[-2000:]
        run = folder / "run"
        assert_paid_once(run, log)
        pooled = ledger_rows(run, "SELECT COUNT(*) FROM pool_requests")[0][0]
        refused = ledger_rows(run, "SELECT COUNT(*) FROM pool_ideas WHERE verdict != 'kept'")
        assert pooled >= 2 and refused[0][0] > 0  # the pool had repeats to refuse
        yield run, _kept(run), log
    finally:
        fake.stop()
        if saved is None:
            os.environ.pop("ANTHROPIC_API_KEY", None)
        else:
            os.environ["ANTHROPIC_API_KEY"] = saved


def _writer(folder: Path) -> Callable[..., Path]:
    """`write_spec` for a module-scoped fixture (the conftest one is per test)."""

    def write(**fields: Any) -> Path:
        spec: dict[str, Any] = {
            "name": "t",
            "constitution": str(REPO / "constitution" / "example.md"),
            "personas": str(REPO / "personas"),
            "seed": 7,
            "output": str(folder / "run"),
            **fields,
        }
        path = folder / "spec.yaml"
        path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
        return path

    return write


def test_one_build_gives_each_job_of_a_cell_its_own_idea(
    baseline: tuple[Path, list[str], RetoldLog],
) -> None:
    """Even when the provider keeps offering the same six plots: a brief whose idea is
    refused is asked again, and no job of the cell ends up with a plot the cell holds."""
    run, _, log = baseline
    assert_cells_distinct(run, log)


@pytest.fixture
def retold(fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> RetoldLog:
    monkeypatch.setenv("ANTHROPIC_API_KEY", DUMMY_KEY)
    return fake_provider.retold(share=0.5)


def test_workers_2_keeps_the_same_documents(
    baseline: tuple[Path, list[str], RetoldLog],
    retold: RetoldLog,
    fake_provider: FakeProvider,
    tmp_path: Path,
) -> None:
    spec = _spec(_writer(tmp_path), fake_provider.url, tmp_path)
    code, out = _cli("build", str(spec), "--workers", "2", "--no-progress")
    assert code in DONE, out[-2000:]
    run = tmp_path / "run"
    assert_paid_once(run, retold)
    assert _kept(run) == baseline[1]
    assert_cells_distinct(run, retold)


def test_shards_and_merge_keep_the_same_documents(
    baseline: tuple[Path, list[str], RetoldLog],
    retold: RetoldLog,
    fake_provider: FakeProvider,
    tmp_path: Path,
) -> None:
    spec = _spec(_writer(tmp_path), fake_provider.url, tmp_path)
    machines = [tmp_path / f"machine{i}" for i in range(2)]
    for i, folder in enumerate(machines):
        code, out = _cli(
            "generate", str(spec), "--out", str(folder), "--shard", f"{i}/2", "--no-progress"
        )
        assert code == 0, out[-2000:]
    merged = tmp_path / "merged"
    code, out = _cli("merge", str(spec), "--out", str(merged), *map(str, machines))
    assert code == 0, out[-2000:]
    paid = _attempts(merged)
    code, out = _cli("build", str(spec), "--out", str(merged), "--no-progress")
    assert code in DONE, out[-2000:]
    # The merged run pays for nothing the slices paid for; what it sends (a wave the
    # slices' plan share did not hold) is for jobs no slice had sent.
    assert {j: n for j, n in _attempts(merged).items() if j in paid} == paid
    assert_paid_once(merged, retold)
    assert _kept(merged) == baseline[1]
    assert_cells_distinct(merged, retold)


def _attempts(run: Path) -> dict[str, int]:
    """Requests recorded per job (its stages' attempts)."""
    rows = ledger_rows(run, "SELECT job_id, COUNT(*) FROM attempts GROUP BY job_id")
    return {str(j): int(n) for j, n in rows}


def test_batch_keeps_the_same_documents(
    baseline: tuple[Path, list[str], RetoldLog],
    retold: RetoldLog,
    fake_provider: FakeProvider,
    tmp_path: Path,
) -> None:
    # One request of a cell per batch round: each sees the one before it, as an immediate
    # build's requests do, so the same ideas and documents (the default width is tested
    # against a --batch build of its own: test_kill_9_during_a_pool_batch_...).
    width_1 = {"batch_width": 1}
    spec = _spec(_writer(tmp_path), fake_provider.url, tmp_path, width_1, batch=FAST_POLL)
    code, out = _cli("build", str(spec), "--batch", "--no-progress")
    assert code in DONE, out[-2000:]
    run = tmp_path / "run"
    assert fake_provider.batches.created  # the stages went through Message Batches
    # the pool's list requests too, each once, at the batch price; nothing immediate
    assert fake_provider.count == 0
    committed = {r for (r,) in ledger_rows(run, "SELECT id FROM pool_requests")}
    pooled = _pool_sends(fake_provider)
    assert committed and set(pooled) == committed and set(pooled.values()) == {1}
    assert_batch_priced(run)
    assert_paid_once(run, retold)
    assert _kept(run) == baseline[1]
    assert _pool_ideas(run) == _pool_ideas(baseline[0])  # the same requests, the same ideas
    assert_cells_distinct(run, retold)


def _batched(fake: FakeProvider) -> list[str]:
    return [cid for batch in fake.batches.created for cid in batch["custom_ids"]]


def _batch_created(fake: FakeProvider) -> Callable[[], bool]:
    """True once the fake has created a batch more than at this call."""
    out = len(_batched(fake))
    return lambda: len(_batched(fake)) != out


def _pool_sends(fake: FakeProvider) -> Counter[str]:
    """How often each pool request went out (a later attempt's custom id is the request's
    id with "-N" after it)."""
    return Counter("-".join(c.split("-")[:2]) for c in _batched(fake) if c.startswith("pool-"))


def _pool_ideas(run: Path) -> list[tuple[Any, ...]]:
    return ledger_rows(
        run, "SELECT request_id, item, job_id, text, verdict FROM pool_ideas ORDER BY 1, 2"
    )


def test_kill_9_during_a_pool_batch_then_resume_pays_nothing_twice(
    baseline: tuple[Path, list[str], RetoldLog],
    retold: RetoldLog,
    fake_provider: FakeProvider,
    tmp_path: Path,
) -> None:
    """A kill while the pool's batch (a round of several requests per cell) is out: the
    next run adopts that batch (the same requests, given the same ledger) and reads its
    answers; nothing is sent twice, and the run keeps what an unbroken --batch build keeps."""
    whole = _whole_batch_build(tmp_path / "whole")
    fake_provider.batches.delay = 1.0
    spec = _spec(_writer(tmp_path), fake_provider.url, tmp_path, batch=FAST_POLL)
    run = tmp_path / "run"
    rng, kills, mid_batch = random.Random(5), 0, 0
    for _ in range(2):
        proc = _start(spec, "--batch")
        kills += kill_when(
            proc, _batch_created(fake_provider), within=60, pause=rng.uniform(0.0, 0.3)
        )
        mid_batch += bool(
            ledger_rows(
                run,
                "SELECT COUNT(*) FROM batch_requests WHERE stage='idea_pool' AND result IS NULL",
            )[0][0]
        )
    assert kills >= 1 and mid_batch >= 1  # a kill landed while a pool batch was out
    fake_provider.batches.delay = 0.05
    code, out = _cli("build", str(spec), "--batch", "--no-progress")
    assert code in DONE, out[-2000:]
    pooled = _pool_sends(fake_provider)
    assert pooled and set(pooled.values()) == {1}  # no pool request sent twice
    assert fake_provider.count == 0
    assert_paid_once(run, retold)  # every answered list is committed: none lost, none twice
    assert_batch_priced(run)
    assert _kept(run) == _kept(whole)
    assert _pool_ideas(run) == _pool_ideas(whole)
    assert_cells_distinct(run, retold)


def _whole_batch_build(folder: Path) -> Path:
    """An unbroken `--batch` build on a fake of its own (its answers are seeded by the
    request, so any fake gives the same): what a killed and resumed one must keep."""
    folder.mkdir()
    fake = FakeProvider().start()
    try:
        fake.retold(share=0.5)
        spec = _spec(_writer(folder), fake.url, folder, batch=FAST_POLL)
        code, out = _cli("build", str(spec), "--batch", "--no-progress")
        assert code in DONE, out[-2000:]
        widths = ledger_rows(
            folder / "run",
            "SELECT r.seq, p.cell, COUNT(*) FROM pool_requests p JOIN batch_requests r "
            "ON r.key = p.id GROUP BY 1, 2",
        )
        assert max(n for *_, n in widths) >= 2  # a round carried several of a cell's requests
    finally:
        fake.stop()
    return folder / "run"


def _start(spec: Path, *options: str) -> subprocess.Popen[bytes]:
    return start_cli(
        "generate", str(spec), "--no-progress", *options, env={"ANTHROPIC_API_KEY": DUMMY_KEY}
    )


def _asking(retold: RetoldLog) -> Callable[[], bool]:
    """True once the fake has been asked for an idea list more than at this call."""
    asked = len(retold.idea_lists())
    return lambda: len(retold.idea_lists()) != asked


def test_kill_9_during_pool_requests_then_resume(
    baseline: tuple[Path, list[str], RetoldLog],
    retold: RetoldLog,
    fake_provider: FakeProvider,
    tmp_path: Path,
) -> None:
    fake_provider.latency = 0.15
    spec = _spec(_writer(tmp_path), fake_provider.url, tmp_path)
    run = tmp_path / "run"
    rng = random.Random(3)
    kills, during_pool = 0, 0
    for _ in range(3):
        proc = _start(spec)
        kills += kill_when(proc, _asking(retold), within=60, pause=rng.uniform(0.0, 0.2))
        committed = ledger_rows(run, "SELECT COUNT(*) FROM pool_requests")[0][0]
        during_pool += committed < len(retold.idea_lists()) or not _pool_done(run)
    assert kills >= 1 and during_pool >= 1  # a kill landed while the pool was filling
    fake_provider.latency = 0.0
    code, out = _cli("build", str(spec), "--no-progress")
    assert code in DONE, out[-2000:]
    assert_paid_once(run, retold, lost=kills * CONCURRENCY)
    assert _kept(run) == baseline[1]
    assert_cells_distinct(run, retold)


def _pool_done(run: Path) -> bool:
    """Every active job has its idea (from the pool or its own list)."""
    jobs = ledger_rows(run, "SELECT COUNT(*) FROM jobs WHERE active = 1")[0][0]
    ideas = ledger_rows(
        run,
        "SELECT COUNT(*) FROM outputs o JOIN jobs j ON j.id = o.job_id "
        "WHERE j.active = 1 AND o.stage = 'idea'",
    )[0][0]
    return bool(jobs) and ideas == jobs


def test_a_later_run_holds_the_cells_earlier_ideas(
    retold: RetoldLog, fake_provider: FakeProvider, tmp_path: Path
) -> None:
    """A second `generate` (here: a larger budget; equally a resume after a kill, a top-up
    round, a `--workers` process) must check new ideas against every idea its cells hold,
    including those kept by a request that mixed several cells' remainders."""
    spec = _spec(_writer(tmp_path), fake_provider.url, tmp_path)
    code, out = _cli("generate", str(spec), "--set", "budget.tokens=16000", "--no-progress")
    assert code == 0, out[-2000:]
    code, out = _cli("generate", str(spec), "--no-progress")
    assert code == 0, out[-2000:]
    assert_paid_once(tmp_path / "run", retold)
    assert_cells_distinct(tmp_path / "run", retold)
