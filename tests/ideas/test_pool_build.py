"""The idea pool through the CLI against the loopback fake provider (real SDK, real ledger)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from fakeprovider.server import FakeProvider
from runfiles import ledger_rows
from sdf_corpus.cli import main
from sdf_corpus.store.ideas import POOL_STAGE


def _generate(spec: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["generate", str(spec), "--no-progress", *args])
    return result.exit_code, result.stderr


def _pool_requests(fake: FakeProvider) -> int:
    return sum(1 for r in fake.requests if "Brief 1:" in str(r))


def test_a_build_asks_no_job_for_its_own_ideas(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    spec = fake_spec(budget={"tokens": 30000, "max_rounds": 1})
    code, err = _generate(spec)
    assert code == 0, err
    run = spec.parent / "run"
    jobs = ledger_rows(run, "SELECT COUNT(*) FROM jobs WHERE status='done'")[0][0]
    per_job_ideas = ledger_rows(run, "SELECT COUNT(*) FROM attempts WHERE stage='idea'")[0][0]
    pool = ledger_rows(run, f"SELECT COUNT(*) FROM attempts WHERE stage='{POOL_STAGE}'")[0][0]
    assert jobs > 20 and per_job_ideas == 0
    assert pool == _pool_requests(fake_provider) and pool / jobs <= 0.25
    ideas = ledger_rows(run, "SELECT job_id, text, backend FROM outputs WHERE stage='idea'")
    assert len(ideas) == jobs and {b for _, _, b in ideas} == {"idea_pool"}
    assert len({t for _, t, _ in ideas}) == jobs  # every job its own idea
    # the drafts were written from the pool's ideas
    drafts = [str(r) for r in fake_provider.requests if "<idea>" in str(r)]
    assert all(any(t[:40] in d for d in drafts) for _, t, _ in ideas)
