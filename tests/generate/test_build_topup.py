"""`build` tops the corpus up when cleaning leaves it short of the budget."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from fakeprovider.server import FakeProvider
from fakeprovider.text import idea_list, prose
from sdf_corpus.cli import main

from .conftest import ledger_rows


def half_too_short(prompt: str, body: dict[str, Any]) -> str:
    """Ideas as a list; documents long enough to keep, except every other one."""
    if "numbered list" in prompt.lower():
        return idea_list(prompt)
    if hashlib.sha256(prompt.encode()).digest()[0] % 2:
        return prose(prompt, min_words=40)
    return prose(prompt, min_words=int(body.get("max_tokens", 1000) * 0.45))


def test_build_plans_top_up_rounds_until_budget_or_max_rounds(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    fake_provider.responder = half_too_short
    # Pool off: with it, this fake's answers land 80 % of the budget with 3 documents, inside
    # the one-document bound (exit 0), which the `kept < 5000 -> exit 6` branch below
    # predates; the top-up mechanics under test do not depend on where ideas come from.
    spec = fake_spec(
        budget={"tokens": 5000, "max_rounds": 3, "expected_drop_rate": 0.0}, ideas={"pool": False}
    )
    result = CliRunner().invoke(main, ["build", str(spec), "--no-progress"])
    outcome = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("{")))
    # A build that ends short of its budget says why in words and exits 6.
    if outcome["kept_tokens"] < 5000:
        assert result.exit_code == 6, result.output
        assert outcome["stopped"] == "max_rounds"
        assert "budget.max_rounds" in result.stderr and "ended short" in result.stderr
    else:
        assert result.exit_code == 0, result.output
    run = spec.parent / "run"
    rounds = ledger_rows(run, "SELECT round, counts FROM rounds ORDER BY round")
    assert len(rounds) >= 2  # about half the documents are dropped: round 0 falls short
    # The closed loop extends the plan in waves while it generates; only the build's
    # own rounds (generate, clean, top up) are counted as rounds.
    (waves_json,) = ledger_rows(run, "SELECT value FROM meta WHERE key='waves'")[0]
    waves = json.loads(waves_json)
    assert waves
    assert outcome["rounds"] == len(rounds) - len(waves)
    assert outcome["kept_tokens"] >= 5000 or outcome["stopped"] == "max_rounds"
    # top-up jobs are new jobs (new ids), continuing the rotation, never repeats
    ids = ledger_rows(run, "SELECT id, round FROM jobs")
    assert len({i for i, _ in ids}) == len(ids)
    assert {r for _, r in ids} == {r for r, _ in rounds}
    stats = json.loads((run / "clean_stats.json").read_text())
    assert stats["kept"]["tokens"] == outcome["kept_tokens"]
    # a finished build does nothing more when run again
    before = fake_provider.count
    shard_times = {p: p.stat().st_mtime_ns for p in (run / "shards").glob("*.parquet")}
    again = CliRunner().invoke(main, ["build", str(spec), "--no-progress"])
    assert again.exit_code == result.exit_code
    assert fake_provider.count == before
    outcome_again = json.loads(
        next(line for line in again.stdout.splitlines() if line.startswith("{"))
    )
    assert outcome_again["cleaned"] is False  # shards already up to date: not rewritten
    assert outcome_again["kept_tokens"] == outcome["kept_tokens"]
    assert {p: p.stat().st_mtime_ns for p in (run / "shards").glob("*.parquet")} == shard_times
