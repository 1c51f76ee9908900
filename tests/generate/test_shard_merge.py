"""`generate --shard i/N` + `merge`, and `generate --workers N`, against the fake provider."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fakeprovider.server import FakeProvider
from runfiles import shard_rows
from sdf_corpus.cli import main
from sdf_corpus.errors import SpecError
from sdf_corpus.plan.shard import Shard, parse_shard

from .conftest import ledger_rows


@pytest.fixture
def fake_spec(fake_spec: Callable[..., Path]) -> Callable[..., Path]:
    """Each job its own stages: these tests count and break per-job stage requests; the
    idea pool's own behaviour under the same faults is tested in tests/ideas."""
    return functools.partial(fake_spec, ideas={"pool": False})


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [*args])
    return result.exit_code, result.stdout, result.stderr


def _rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def _without_time(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # created_at is when the answer arrived: the one thing two builds cannot share.
    return [{k: v for k, v in row.items() if k != "created_at"} for row in rows]


def test_three_merged_shards_equal_a_one_machine_build(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider, tmp_path: Path
) -> None:
    spec = fake_spec(budget={"tokens": 9000, "max_rounds": 1})
    one, merged = tmp_path / "one", tmp_path / "merged"
    # `generate` sends the whole plan, as the slices do; the build after it sends only
    # what the closed budget loop still finds short (the same on the merged run).
    code, _, err = _cli("generate", str(spec), "--out", str(one), "--no-progress")
    assert code == 0, err
    one_machine_requests = fake_provider.count
    code, _, err = _cli("build", str(spec), "--out", str(one), "--no-progress")
    assert code == 0, err
    one_build_extra = fake_provider.count - one_machine_requests

    # Three "machines", each with its own run folder.
    machines = [tmp_path / f"machine{i}" for i in range(3)]
    for i, folder in enumerate(machines):
        code, out, err = _cli(
            "generate", str(spec), "--out", str(folder), "--shard", f"{i}/3", "--no-progress"
        )
        assert code == 0, err
        assert f"ledger.shard-{i}-of-3.sqlite" in out
    sliced = fake_provider.count - one_machine_requests - one_build_extra
    assert sliced == one_machine_requests  # each job paid once over the shards
    ledgers = [m / f"ledger.shard-{i}-of-3.sqlite" for i, m in enumerate(machines)]
    slices = [{r[0] for r in _rows(path, "SELECT id FROM jobs")} for path in ledgers]
    assert all(slices)
    assert not (slices[0] & slices[1] or slices[0] & slices[2] or slices[1] & slices[2])

    code, out, err = _cli("merge", str(spec), "--out", str(merged), *map(str, machines))
    assert code == 0, err
    assert "merged 3 ledger(s)" in out and not err
    cost = "SELECT ROUND(SUM(cost_usd), 9) FROM attempts"
    merged_cost = ledger_rows(merged, cost)[0][0]  # before the build's own requests
    before = fake_provider.count
    code, _, err = _cli("build", str(spec), "--out", str(merged), "--no-progress")
    assert code == 0, err
    # the merged run pays nothing again for the slices' jobs, and sends what one did
    assert fake_provider.count - before == one_build_extra

    ids = "SELECT id FROM jobs WHERE active = 1 AND status = 'done' ORDER BY id"
    assert ledger_rows(merged, ids) == ledger_rows(one, ids)
    # every slice's job, and whatever the build found short (the same jobs as on one machine)
    assert slices[0] | slices[1] | slices[2] <= {r[0] for r in ledger_rows(merged, ids)}
    usage = "SELECT COUNT(*), SUM(input_tokens + cache_read_tokens + cache_write_tokens), "
    usage += "SUM(output_tokens) FROM attempts"
    assert ledger_rows(merged, usage) == ledger_rows(one, usage)
    # Each machine pays its own prompt-cache writes, so spend is the slices' sum.
    slice_costs = sum(_rows(path, cost)[0][0] for path in ledgers)
    assert merged_cost == pytest.approx(slice_costs)
    rows = shard_rows(merged)
    assert rows and _without_time(rows) == _without_time(shard_rows(one))


def test_merge_twice_adds_nothing_and_slices_stay_disjoint_as_budget_grows(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider, tmp_path: Path
) -> None:
    spec = fake_spec()
    run = tmp_path / "run"
    for i in range(2):
        code, _, err = _cli("generate", str(spec), "--shard", f"{i}/2", "--no-progress")
        assert code == 0, err
    for _ in range(2):
        code, out, err = _cli("merge", str(spec))
        assert code == 0, err
    assert "0 stage outputs, 0 attempts, 0 jobs finished" in out
    assert ledger_rows(run, "SELECT COUNT(*) FROM attempts")[0][0] == fake_provider.count
    status = ledger_rows(run, "SELECT status, COUNT(*) FROM jobs GROUP BY status")
    assert [s for s, _ in status] == ["done"]

    # A larger budget adds jobs; a job never moves to another slice.
    before = {r[0] for r in _rows(run / "ledger.shard-0-of-2.sqlite", "SELECT id FROM jobs")}
    code, _, err = _cli(
        "generate", str(spec), "--shard", "0/2", "--set", "budget.tokens=12000", "--no-progress"
    )
    assert code == 0, err
    after = {
        r[0]
        for r in _rows(run / "ledger.shard-0-of-2.sqlite", "SELECT id FROM jobs WHERE active = 1")
    }
    assert before < after
    assert all(Shard(0, 2).owns(job_id) for job_id in after)


def test_missing_slice_is_reported_and_stays_pending(
    fake_spec: Callable[..., Path], tmp_path: Path
) -> None:
    spec = fake_spec()
    code, _, err = _cli("generate", str(spec), "--shard", "1/3", "--no-progress")
    assert code == 0, err
    code, _, err = _cli("merge", str(spec))
    assert code == 0
    assert "0/3, 2/3" in err
    pending = ledger_rows(tmp_path / "run", "SELECT COUNT(*) FROM jobs WHERE status='pending'")
    assert pending[0][0] > 0


@pytest.mark.parametrize(
    ("text", "ok"),
    [("0/1", True), ("2/3", True), ("3/3", False), ("1/0", False), ("-1/2", False), ("a/b", False)],
)
def test_parse_shard(text: str, ok: bool) -> None:
    if ok:
        assert str(parse_shard(text)) == text
    else:
        with pytest.raises(SpecError, match="--shard"):
            parse_shard(text)


def test_bad_shard_and_bad_ledgers_exit_2_with_one_line(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider, tmp_path: Path
) -> None:
    spec = fake_spec()
    code, _, err = _cli("generate", str(spec), "--shard", "3/3")
    assert code == 2 and err.count("\n") == 1 and "--shard" in err
    assert fake_provider.count == 0

    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database at all, just text" * 100)
    code, _, err = _cli("merge", str(spec), "--ledger", str(junk))
    assert code == 2 and err.count("\n") == 1 and str(junk) in err

    code, _, err = _cli("merge", str(spec))
    assert code == 2 and "no ledger.shard-" in err

    # A slice of a different plan (another budget) must not be folded in.
    other = tmp_path / "other"
    code, _, err = _cli(
        "generate", str(spec), "--out", str(other), "--shard", "0/2",
        "--set", "budget.tokens=30000", "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    shard_ledger = other / "ledger.shard-0-of-2.sqlite"
    code, _, err = _cli("merge", str(spec), "--ledger", str(shard_ledger))
    assert code == 2 and str(shard_ledger) in err and "not in the plan" in err
    assert ledger_rows(tmp_path / "run", "SELECT COUNT(*) FROM outputs")[0][0] == 0


def test_workers_share_one_ledger_and_pay_each_request_once(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider, tmp_path: Path
) -> None:
    spec = fake_spec(backend={"concurrency": 6}, budget={"tokens": 6000, "max_rounds": 4})
    code, _, err = _cli("generate", str(spec), "--workers", "2")  # with the shared progress bar
    assert code == 0, err
    run = tmp_path / "run"
    assert ledger_rows(run, "SELECT DISTINCT status FROM jobs") == [("done",)]
    pairs = "SELECT COUNT(*), COUNT(DISTINCT job_id || stage) FROM outputs"
    outputs = ledger_rows(run, pairs)[0]
    assert outputs[0] == outputs[1] == fake_provider.count
    assert ledger_rows(run, "SELECT COUNT(*) FROM attempts")[0][0] == fake_provider.count
    code, _, err = _cli("generate", str(spec), "--workers", "2", "--no-progress")
    assert code == 0, err
    assert outputs[0] == fake_provider.count  # a re-run finds nothing left to pay for
    # build cleans what the workers made and runs its top-up rounds in workers too
    code, _, err = _cli("build", str(spec), "--workers", "2", "--no-progress")
    assert code == 0, err
    outputs = ledger_rows(run, pairs)[0]
    assert outputs[0] == outputs[1] == fake_provider.count
    assert shard_rows(run)

    code, _, err = _cli("generate", str(spec), "--workers", "7")
    assert code == 2 and "backend.concurrency" in err


@pytest.mark.parametrize(
    ("total", "workers", "shares"),
    [(256, 2, [128, 128]), (7, 3, [3, 2, 2]), (60.0, 4, [15.0] * 4), (None, 2, [None, None])],
)
def test_limits_are_shared_out_not_multiplied(
    total: float | None, workers: int, shares: list[float | None]
) -> None:
    from sdf_corpus.generate.parallel import worker_share

    assert [worker_share(total, i, workers) for i in range(workers)] == shares


def test_worker_slices_are_independent_of_machine_slices() -> None:
    from sdf_corpus.generate.parallel import _SALT

    ids = [f"{i:024x}" for i in range(4000)]
    machine = [j for j in ids if Shard(0, 2).owns(j)]
    workers = [sum(Shard(w, 2, _SALT).owns(j) for j in machine) for w in range(2)]
    assert 1800 < len(machine) < 2200
    assert all(0.4 * len(machine) < n < 0.6 * len(machine) for n in workers)


def test_workers_see_the_environment_of_their_start(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A forkserver started earlier in the process (the clean stage starts one) holds the
    environment of its own start; workers must get the key set since."""
    import multiprocessing
    import time

    from .conftest import DUMMY_KEY

    spec = fake_spec(backend={"concurrency": 4})
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    server = multiprocessing.get_context("forkserver").Process(target=time.sleep, args=(0,))
    server.start()
    server.join()
    monkeypatch.setenv("ANTHROPIC_API_KEY", DUMMY_KEY)
    code, _, err = _cli("generate", str(spec), "--workers", "2", "--no-progress")
    assert code == 0, err
    assert fake_provider.count > 0
