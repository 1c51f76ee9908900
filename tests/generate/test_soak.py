"""The soak benchmark (benchmarks/soak.py), scaled down: faults on 15 % of requests and
three SIGKILLs, then every planned stage is stored exactly once and paid once."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]


def _soak_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("soak", REPO / "benchmarks" / "soak.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_soak_small_faults_and_three_kills_store_every_stage_once(tmp_path: Path) -> None:
    concurrency = 16
    result = _soak_module().soak(tmp_path, 120, concurrency=concurrency)
    checks = result["exactly_once"]
    assert [r["killed_at"] is not None for r in result["runs"]] == [True, True, True, False]
    assert result["faults_served"] > 0.1 * result["requests_served"]
    planned = checks["planned_stages"]
    assert checks["stored_stages"] == checks["distinct_stored"] == planned
    assert checks["ok_attempts"] == planned and checks["stages_paid_twice"] == 0
    assert checks["jobs_done"] == 120 and checks["jobs_failed"] == 0
    # answers the provider served that the ledger never stored: only those in flight at a kill
    assert 0 <= result["answers_served_not_stored"] <= 3 * concurrency
