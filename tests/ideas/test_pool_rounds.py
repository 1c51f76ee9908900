"""The idea pool's rounds under `--batch` (`ideas.batch_width`): a cell's requests go out
`batch_width` at a time, so a cell of k requests takes ceil(k / width) batch rounds plus
the rounds its re-asks and remainders need, not k; nothing is paid twice and no idea is
repeated in a cell. The equivalence with an immediate build at width 1 and a kill -9 mid
round are tested in test_pool_batch.py and test_pool_faults.py."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fakeprovider.retold import RetoldLog
from fakeprovider.server import FakeProvider
from runfiles import ledger_rows
from sdf_corpus.cli import main
from sdf_corpus.ideas.config import IdeasSpec

from .retold_run import assert_cells_distinct, assert_paid_once, small_constitution

DUMMY_KEY = "sk-ant-test-DUMMY-KEY-0123456789"
SIZE = 4  # briefs a request: small, so a cell has more requests than the default width


def _build(fake_spec: Callable[..., Path], tmp: Path, **ideas: Any) -> Path:
    spec = fake_spec(
        "anthropic",
        constitution=str(small_constitution(tmp)),
        genres=["blog_post"],
        budget={"tokens": 70000, "max_rounds": 1},
        ideas={"per_request": SIZE, **ideas},
        backend={"model": "claude-haiku-4-5", "batch": {"poll_initial": 0.02, "poll_max": 0.1}},
    )
    run = tmp / "run"
    result = CliRunner().invoke(
        main, ["generate", str(spec), "--out", str(run), "--no-progress", "--batch"]
    )
    assert result.exit_code == 0, (result.stdout + result.stderr)[-2000:]
    return run


def _pool_batches(fake: FakeProvider) -> list[list[str]]:
    """The pool request ids of each batch the fake created, in creation order."""
    batches = [[c for c in b["custom_ids"] if c.startswith("pool-")] for b in fake.batches.created]
    return [b for b in batches if b]


Round = dict[str, dict[str, list[str]]]  # request key -> request id -> its brief ids


def _rounds(run: Path) -> list[Round]:
    """Per round (batch, in order): each request key's requests, each with its briefs."""
    rows = ledger_rows(
        run,
        "SELECT r.seq, p.cell, i.request_id, i.job_id FROM pool_ideas i "
        "JOIN pool_requests p ON p.id = i.request_id "
        "JOIN batch_requests r ON r.key = i.request_id AND r.stage = 'idea_pool' "
        "ORDER BY r.seq, i.request_id, i.item",
    )
    by_seq: dict[int, dict[str, dict[str, list[str]]]] = defaultdict(lambda: defaultdict(dict))
    for seq, key, rid, job in rows:
        by_seq[seq][key].setdefault(rid, []).append(job)
    return [by_seq[s] for s in sorted(by_seq)]


def _jobs_per_cell(run: Path) -> dict[str, list[str]]:
    """Each cell's jobs in plan order (the pool's `cell` of a job's ideas)."""
    rows = ledger_rows(
        run,
        "SELECT DISTINCT i.cell, j.id, j.idx FROM pool_ideas i JOIN jobs j ON j.id = i.job_id "
        "ORDER BY j.idx",
    )
    cells: dict[str, list[str]] = defaultdict(list)
    for cell, job, _ in rows:
        cells[cell].append(job)
    return cells


def _asked_before(run: Path) -> set[tuple[str, str]]:
    """(request id, job id) of every brief sent in a request after its first ask."""
    rows = ledger_rows(
        run, "SELECT job_id, request_id FROM pool_ideas ORDER BY created_at, request_id, item"
    )
    seen: set[str] = set()
    again = set()
    for job, rid in rows:
        if job in seen:
            again.add((rid, job))
        seen.add(job)
    return again


@pytest.mark.slow
# share 0 and threshold 1: no plot offered twice and only a same-text idea refused, so no
# re-ask and the rounds are exactly ceil(k / width) + the remainders'; share 0.5: repeats.
@pytest.mark.parametrize(("share", "threshold"), [(0.0, 1.0), (0.5, IdeasSpec().threshold)])
def test_a_cell_takes_ceil_k_over_width_rounds_plus_its_re_asks(
    share: float,
    threshold: float,
    fake_provider: FakeProvider,
    fake_spec: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", DUMMY_KEY)
    retold: RetoldLog = fake_provider.retold(share=share)
    width = IdeasSpec().batch_width
    run = _build(fake_spec, tmp_path, threshold=threshold)
    rounds, cells = _rounds(run), _jobs_per_cell(run)
    full = {cell: len(jobs) // SIZE for cell, jobs in cells.items()}
    assert max(full.values()) > width  # a cell needs more than one round of full requests

    # Counted at the fake: one batch per round, each pool request sent once.
    batches = _pool_batches(fake_provider)
    assert len(batches) == len(rounds)
    sends = Counter(c for b in batches for c in b)
    committed = {r for (r,) in ledger_rows(run, "SELECT id FROM pool_requests")}
    assert set(sends) == committed and set(sends.values()) == {1}

    # The first round: each cell's first `width` requests, over its first jobs in plan order.
    for cell, jobs in cells.items():
        first = rounds[0].get(cell, {})
        count = min(width, full[cell])
        assert len(first) == count
        assert {j for request in first.values() for j in request} == set(jobs[: count * SIZE])
    # No round carries more than `width` requests of one cell (or of one group's remainders).
    assert max(len(reqs) for r in rounds for reqs in r.values()) == width

    again = _asked_before(run)
    re_ask_rounds = sum(
        any((rid, job) in again for reqs in r.values() for rid, b in reqs.items() for job in b)
        for r in rounds
    )
    leftover = sum(len(jobs) % SIZE for jobs in cells.values())
    remainder_rounds = math.ceil(math.ceil(leftover / SIZE) / width)
    k = max(full.values())
    if share == 0.0:  # no plot offered twice: no re-ask, the rounds are exactly these
        assert not again
        assert len(rounds) == math.ceil(k / width) + remainder_rounds
    else:
        assert again  # repeats were refused, and their briefs asked again
        assert len(rounds) <= math.ceil(k / width) + remainder_rounds + re_ask_rounds
    # One request of a cell per round (width 1) would take a round per request of the cell.
    per_cell = Counter(key for r in rounds for key, reqs in r.items() for _ in reqs)
    print(f"rounds {len(rounds)}; requests of the largest cell {max(per_cell.values())}")
    assert len(rounds) < max(per_cell.values())
    assert_paid_once(run, retold)
    assert_cells_distinct(run, retold)


@pytest.mark.parametrize("value", ["0", "-3", "wide"])
def test_a_bad_batch_width_is_one_line_and_exit_2(value: str, tmp_path: Path) -> None:
    spec = Path(__file__).resolve().parents[2] / "corpora" / "demo.yaml"
    result = CliRunner().invoke(main, ["plan", str(spec), "--set", f"ideas.batch_width={value}"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "ideas.batch_width" in lines[0], result.stderr
