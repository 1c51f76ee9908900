"""The idea pool in real runs against the loopback fake provider: killed mid-fill and
resumed, --workers, --max-cost, --batch, and --shard + merge. Each must pay no pool request
twice, give no two jobs of a cell the same idea, and give the same ideas however it ran."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from fakeprovider.server import FakeProvider
from generate.conftest import DUMMY_KEY
from killing import kill_when, start_cli
from runfiles import ledger_rows
from sdf_corpus.cli import main

_FAST_POLL = {"poll_initial": 0.02, "poll_max": 0.1}
_POOL = {"per_request": 4}


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--no-progress"] if args[0] != "merge" else args)
    return result.exit_code, result.stderr


def _pool_sends(fake: FakeProvider) -> list[str]:
    return [str(r) for r in fake.requests if "Brief 1:" in str(r)]


def _ideas(run: Path, ledger: str = "ledger.sqlite") -> dict[str, str]:
    db = sqlite3.connect(run / ledger)
    try:
        rows = db.execute("SELECT job_id, text FROM outputs WHERE stage='idea'").fetchall()
    finally:
        db.close()
    return dict(rows)


def _assert_pool_sound(run: Path) -> None:
    """Every job done with one kept pool idea, no idea twice in a cell, no request twice."""
    done = ledger_rows(run, "SELECT COUNT(*) FROM jobs WHERE status='done'")[0][0]
    assert ledger_rows(run, "SELECT COUNT(*) FROM jobs WHERE status!='done'")[0][0] == 0
    kept = "SELECT job_id, COUNT(*) FROM pool_ideas WHERE verdict='kept' GROUP BY job_id"
    assert len(ledger_rows(run, kept)) == done and all(n == 1 for _, n in ledger_rows(run, kept))
    repeats = ledger_rows(
        run,
        "SELECT cell, text, COUNT(*) FROM pool_ideas WHERE verdict='kept' "
        "GROUP BY cell, text HAVING COUNT(*) > 1",
    )
    assert repeats == []
    assert ledger_rows(run, "SELECT COUNT(*) FROM attempts WHERE stage='idea'")[0][0] == 0
    paid = ledger_rows(run, "SELECT COUNT(*) FROM attempts WHERE stage='idea_pool'")[0][0]
    assert paid == ledger_rows(run, "SELECT COUNT(*) FROM pool_requests")[0][0]


def _committed(run: Path) -> list[tuple[str]]:
    """The pool requests the ledger holds so far (none before it exists and is migrated)."""
    if not (run / "ledger.sqlite").exists():
        return []
    try:
        return ledger_rows(run, "SELECT id FROM pool_requests")
    except sqlite3.OperationalError:  # not migrated yet
        return []


def test_sigkill_during_the_pool_then_resume_asks_nothing_committed_again(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    fake_provider.latency = 0.25
    spec = fake_spec(
        backend={"concurrency": 2}, budget={"tokens": 40000, "max_rounds": 1}, ideas=_POOL
    )
    run = spec.parent / "run"
    proc = start_cli("generate", str(spec), "--no-progress", env={"ANTHROPIC_API_KEY": DUMMY_KEY})
    killed = kill_when(proc, lambda: bool(_committed(run)), within=60, poll=0.02)
    assert killed, proc.communicate()[1].decode()
    assert _committed(run), "the pool never committed a request before the kill"
    before = {r[0] for r in ledger_rows(run, "SELECT id FROM pool_requests")}
    assert ledger_rows(run, "SELECT COUNT(*) FROM jobs WHERE status='done'")[0][0] == 0
    sends_before = len(_pool_sends(fake_provider))
    code, err = _cli("generate", str(spec))
    assert code == 0, err
    _assert_pool_sound(run)
    after = {r[0] for r in ledger_rows(run, "SELECT id FROM pool_requests")}
    assert before < after
    # the re-run sent only requests not committed before the kill
    assert len(_pool_sends(fake_provider)) - sends_before == len(after - before)


def test_two_workers_give_every_job_the_idea_one_worker_gives(
    fake_spec: Callable[..., Path], tmp_path: Path
) -> None:
    ideas = []
    for workers in ("1", "2"):
        out = tmp_path / f"run{workers}"
        spec = fake_spec(
            name=f"w{workers}.yaml",
            backend={"concurrency": 4},
            budget={"tokens": 30000, "max_rounds": 1},
            ideas=_POOL,
        )
        code, err = _cli("generate", str(spec), "--workers", workers, "--out", str(out))
        assert code == 0, err
        _assert_pool_sound(out)
        ideas.append(_ideas(out))
    assert ideas[0] == ideas[1] and len(ideas[0]) > 20


def test_max_cost_stops_inside_the_pool_and_a_larger_cap_finishes(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    spec = fake_spec(budget={"tokens": 30000, "max_rounds": 1}, ideas=_POOL)
    run = spec.parent / "run"
    code, err = _cli("generate", str(spec), "--max-cost", "0.02")
    assert code == 3, err
    spent = ledger_rows(run, "SELECT SUM(cost_usd) FROM attempts")[0][0]
    assert spent is not None and spent <= 0.02
    assert ledger_rows(run, "SELECT COUNT(*) FROM pool_requests")[0][0] > 0
    assert ledger_rows(run, "SELECT COUNT(*) FROM attempts WHERE stage!='idea_pool'")[0][0] == 0
    code, err = _cli("generate", str(spec), "--max-cost", "50")
    assert code == 0, err
    _assert_pool_sound(run)
    assert (
        len(_pool_sends(fake_provider))
        == ledger_rows(run, "SELECT COUNT(*) FROM pool_requests")[0][0]
    )


def test_batch_fills_the_pool_first_in_batches_and_batches_no_idea_stage(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    spec = fake_spec(
        backend={"batch": _FAST_POLL}, budget={"tokens": 20000, "max_rounds": 1}, ideas=_POOL
    )
    code, err = _cli("generate", str(spec), "--batch")
    assert code == 0, err
    run = spec.parent / "run"
    _assert_pool_sound(run)
    batches = [[e["custom_id"] for e in b["entries"]] for b in fake_provider.batches.created]
    batched = [cid for batch in batches for cid in batch]
    assert batched and not any("-idea-" in cid for cid in batched)
    assert fake_provider.count == 0  # the pool's list requests went out as batches too
    assert all(cid.startswith("pool-") for cid in batches[0])  # before any job's stage
    stages = ledger_rows(run, "SELECT DISTINCT stage FROM batch_requests")
    assert {s for (s,) in stages} == {"idea_pool", "draft", "rewrite"}


def test_shards_own_whole_pool_groups_and_merge_keeps_both(
    fake_spec: Callable[..., Path], tmp_path: Path
) -> None:
    """With the pool, a --shard slice owns whole pool groups (genre x kind of AI), so no
    cell's ideas are split over two machines."""
    from sdf_corpus.ideas.cells import group_of, slice_key
    from sdf_corpus.plan.planner import iter_jobs
    from sdf_corpus.plan.shard import Shard
    from sdf_corpus.spec.load import load_corpus

    genres = ["blog_post", "news_article", "difficult_advice"]
    spec = fake_spec(genres=genres, budget={"tokens": 30000, "max_rounds": 1}, ideas=_POOL)
    run = tmp_path / "run"
    for i in range(2):
        code, err = _cli("generate", str(spec), "--shard", f"{i}/2")
        assert code == 0, err
    slices = [_ideas(run, f"ledger.shard-{i}-of-2.sqlite") for i in range(2)]
    assert not set(slices[0]) & set(slices[1])
    corpus = load_corpus(spec)
    jobs = {j.id: j for j in iter_jobs(corpus, {g: 60 for g in genres})}
    assert sum(len(ideas) for ideas in slices) and all(j in jobs for s in slices for j in s)
    groups = [{group_of(jobs[j]) for j in ideas} for ideas in slices]
    assert not groups[0] & groups[1]  # a group's cells live in one slice only
    for i, ideas in enumerate(slices):
        assert all(Shard(i, 2).owns(slice_key(corpus, jobs[j])) for j in ideas)
    code, err = _cli("merge", str(spec))
    assert code == 0, err
    _assert_pool_sound(run)
    assert _ideas(run) == {**slices[0], **slices[1]}
    code, err = _cli("merge", str(spec))  # twice: nothing new
    assert code == 0, err
    assert _ideas(run) == {**slices[0], **slices[1]}
