"""SIGKILL a running build at random moments; the resumed run must finish with
every planned stage exactly once and pay at most for the requests in flight."""

from __future__ import annotations

import functools
import random
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fakeprovider.server import FakeProvider
from killing import kill_when, start_cli

from .conftest import DUMMY_KEY, ledger_rows
from .test_generate import _planned_requests


@pytest.fixture
def fake_spec(fake_spec: Callable[..., Path]) -> Callable[..., Path]:
    """Each job its own stages: these tests count and break per-job stage requests; the
    idea pool's own behaviour under the same faults is tested in tests/ideas."""
    return functools.partial(fake_spec, ideas={"pool": False})


CONCURRENCY = 4


def _start(spec: Path) -> subprocess.Popen[bytes]:
    return start_cli("generate", str(spec), "--no-progress", env={"ANTHROPIC_API_KEY": DUMMY_KEY})


def _spending(fake: FakeProvider) -> Callable[[], bool]:
    """True once the fake has served a request more than it had at this call."""
    since = fake.count
    return lambda: fake.count != since


@pytest.mark.parametrize("seed", [1, 2])
def test_sigkill_at_random_points_then_resume(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider, seed: int
) -> None:
    fake_provider.latency = 0.12
    spec = fake_spec(
        backend={"concurrency": CONCURRENCY}, budget={"tokens": 14000, "max_rounds": 1}
    )
    jobs, planned = _planned_requests(spec)
    rng = random.Random(seed)
    kills = 0
    for _ in range(3):
        proc = _start(spec)
        # wait until it is really spending, then kill it somewhere in the middle
        pause = rng.uniform(0.05, 0.6)
        kills += kill_when(proc, _spending(fake_provider), within=30, pause=pause, poll=0.02)
    assert kills >= 1
    final = _start(spec)
    _, err = final.communicate(timeout=300)
    assert final.returncode == 0, err.decode()
    run = spec.parent / "run"
    assert ledger_rows(run, "SELECT COUNT(*) FROM jobs WHERE status='done'")[0][0] == jobs
    total, distinct = ledger_rows(
        run, "SELECT COUNT(*), COUNT(DISTINCT job_id||'/'||stage) FROM outputs"
    )[0]
    assert total == distinct == planned
    assert planned <= fake_provider.count <= planned + kills * CONCURRENCY


def test_ctrl_c_exits_130_keeps_committed_work_and_resumes(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    fake_provider.latency = 0.1
    spec = fake_spec(backend={"concurrency": 2}, budget={"tokens": 9000, "max_rounds": 1})
    jobs, planned = _planned_requests(spec)
    proc = _start(spec)
    deadline = time.time() + 30
    while fake_provider.count < 4 and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert "interrupted; committed work is kept" in err.decode()
    run = spec.parent / "run"
    committed = ledger_rows(run, "SELECT COUNT(*) FROM outputs")[0][0]
    assert 0 < committed < planned
    final = _start(spec)
    _, err = final.communicate(timeout=300)
    assert final.returncode == 0, err.decode()
    total = ledger_rows(run, "SELECT COUNT(*) FROM outputs")[0][0]
    assert total == planned
    assert ledger_rows(run, "SELECT COUNT(*) FROM jobs WHERE status='done'")[0][0] == jobs
