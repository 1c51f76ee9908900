"""The lean benchmark server (tests/fakeprovider/lean.py) serves our real anthropic
client end to end, so `bench_generate.py` measures generation, not a broken rig."""

from __future__ import annotations

import importlib.util
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]


def _bench_module() -> ModuleType:
    path = REPO / "benchmarks" / "bench_generate.py"
    spec = importlib.util.spec_from_file_location("bench_generate", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generate_runs_every_stage_against_the_lean_server(tmp_path: Path) -> None:
    bench = _bench_module()
    server, url = bench.start_server(0.0, "lean")
    try:
        spec = bench.write_spec(tmp_path, url, 8, 30)
        env = {**os.environ, "ANTHROPIC_API_KEY": bench.DUMMY_KEY}
        env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
        for workers in ("1", "2"):  # the second run finds nothing left to send
            cmd = [sys.executable, "-m", "sdf_corpus", "generate", str(spec), "--no-progress"]
            done = subprocess.run(
                [*cmd, "--workers", workers],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, done.stderr[-2000:]
    finally:
        server.terminate()
        server.wait()
    db = sqlite3.connect(tmp_path / "run" / "ledger.sqlite")
    try:
        jobs = dict(db.execute("select status, count(*) from jobs group by status").fetchall())
        ok, other = db.execute(
            "select sum(outcome = 'ok'), sum(outcome != 'ok') from attempts"
        ).fetchone()
        texts = [t for (t,) in db.execute("select text from outputs")]
    finally:
        db.close()
    assert set(jobs) == {"done"} and jobs["done"] >= 8
    assert other == 0 and ok == len(texts) == 3 * jobs["done"]  # three stages per blog post
    documents = [t for t in texts if t.startswith("Answer ")]  # idea lists are shared
    assert len(documents) == 2 * jobs["done"] and len(set(documents)) == len(documents)
