"""Soak: a long generation run with faults and SIGKILLs, for flat memory and
exactly-once storage.

The fake provider (tests/fakeprovider) runs in this process on loopback and
answers 15 % of requests with a fault (429 with retry-after 0, 529, 500, a
malformed body, or a 2 s stall past the 1 s client timeout). `python -m
sdf_corpus generate` runs as a child process over JOBS jobs of blog_post (3
stages each) and is SIGKILLed when the ledger holds 20 %, 45 % and 70 % of the
planned stage outputs; the fourth run must finish on its own. While each child
runs, its RSS is sampled every 0.5 s against the ledger's progress.

Reported: per run its wall time and peak RSS; RSS by progress decile (flat
means the last quarter's peak stays within 10 % of the first quarter's, after a
5 % warm-up); and the exactly-once checks: every planned (job, stage) stored
once, one successful attempt per stage, no job failed, and the answers the
provider served but the ledger never stored (bounded by the requests in flight
at the kills: kills x concurrency).

    .venv/bin/python benchmarks/soak.py [--jobs 20000] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from fakeprovider.server import FakeProvider  # noqa: E402

DUMMY_KEY = "sk-ant-soak-DUMMY-KEY-0123456789"
FAULTS = ("429", "529", "500", "malformed", "slow")
KILL_AT = (0.20, 0.45, 0.70)


def write_spec(folder: Path, url: str, jobs: int, concurrency: int) -> tuple[Path, int]:
    """A spec whose plan has exactly `jobs` blog_post jobs; (path, planned stage outputs)."""
    from sdf_corpus.chain import stages_for
    from sdf_corpus.plan.planner import allocate, expected_tokens
    from sdf_corpus.spec.load import load_corpus

    spec = folder / "soak.yaml"

    def write(tokens: int) -> None:
        spec.write_text(
            f"""name: soak
constitution: {ROOT / "constitution" / "example.md"}
genres: [blog_post]
personas: {ROOT / "personas"}
budget: {{tokens: {tokens}, max_rounds: 1}}
backend:
  provider: anthropic
  model: claude-haiku-4-5
  api_base: {url}
  concurrency: {concurrency}
  timeout: 1.0
  max_attempts: 12
  retry_base_delay: 0.05
  retry_max_delay: 1.0
seed: 11
output: {folder / "run"}
""",
            encoding="utf-8",
        )

    write(1000)
    corpus = load_corpus(spec)
    tokens = round(jobs * expected_tokens(corpus, "blog_post"))
    while allocate(corpus, tokens).jobs["blog_post"] < jobs:
        tokens += 50
    while allocate(corpus, tokens).jobs["blog_post"] > jobs:
        tokens -= 10
    write(tokens)
    stages = len(stages_for(corpus.genres["blog_post"], "anthropic"))
    return spec, allocate(corpus, tokens).jobs["blog_post"] * stages


def stored(run: Path) -> int:
    path = run / "ledger.sqlite"
    if not path.is_file():
        return 0
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return int(db.execute("SELECT COUNT(*) FROM outputs").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # the schema is not there yet
    finally:
        db.close()


def one_run(spec: Path, planned: int, kill_at: float | None, samples: list[Any]) -> dict[str, Any]:
    """Start generate; SIGKILL it at `kill_at` of the planned outputs (None: let it end)."""
    env = {**os.environ, "ANTHROPIC_API_KEY": DUMMY_KEY, "PYTHONPATH": str(ROOT / "src")}
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sdf_corpus", "generate", str(spec), "--no-progress"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    watch, peak, killed = psutil.Process(proc.pid), 0, False
    while proc.poll() is None:
        time.sleep(0.5)
        try:
            rss = watch.memory_info().rss
        except psutil.NoSuchProcess:
            break
        done = stored(spec.parent / "run")
        peak = max(peak, rss)
        samples.append((done / planned, rss))
        if kill_at is not None and done >= kill_at * planned:
            proc.send_signal(signal.SIGKILL)
            killed = True
    _, err = proc.communicate()
    if kill_at is None and proc.returncode != 0:
        raise SystemExit(f"the final run failed ({proc.returncode}): {err.decode()[-2000:]}")
    return {
        "killed_at": kill_at if killed else None,
        "wall_s": round(time.monotonic() - started, 1),
        "peak_rss_mib": round(peak / 2**20, 1),
        "exit": proc.returncode,
    }


def exactly_once(run: Path, planned: int) -> dict[str, int]:
    db = sqlite3.connect(run / "ledger.sqlite")
    try:
        q = db.execute
        return {
            "planned_stages": planned,
            "stored_stages": q("SELECT COUNT(*) FROM outputs").fetchone()[0],
            "distinct_stored": q(
                "SELECT COUNT(*) FROM (SELECT DISTINCT job_id, stage FROM outputs)"
            ).fetchone()[0],
            "ok_attempts": q("SELECT COUNT(*) FROM attempts WHERE outcome='ok'").fetchone()[0],
            "stages_paid_twice": q(
                "SELECT COUNT(*) FROM (SELECT 1 FROM attempts WHERE outcome='ok' "
                "GROUP BY job_id, stage HAVING COUNT(*) > 1)"
            ).fetchone()[0],
            "jobs_done": q("SELECT COUNT(*) FROM jobs WHERE status='done'").fetchone()[0],
            "jobs_failed": q("SELECT COUNT(*) FROM jobs WHERE status='failed'").fetchone()[0],
            "failed_attempts": q("SELECT COUNT(*) FROM attempts WHERE outcome!='ok'").fetchone()[0],
        }
    finally:
        db.close()


def memory_profile(samples: list[tuple[float, int]]) -> dict[str, Any]:
    deciles: dict[str, float] = {}
    for progress, rss in samples:
        key = f"{min(9, int(progress * 10)) * 10}%"
        deciles[key] = max(deciles.get(key, 0.0), rss / 2**20)
    early = [r for p, r in samples if 0.05 <= p < 0.30]
    late = [r for p, r in samples if p >= 0.75]
    ratio = max(late) / max(early) if early and late else float("nan")
    return {
        "peak_rss_mib_by_progress": {k: round(v, 1) for k, v in sorted(deciles.items())},
        "late_over_early_peak": round(ratio, 3),
        "flat": bool(ratio <= 1.10),
    }


def soak(
    folder: Path,
    jobs: int,
    *,
    concurrency: int = 64,
    fault_rate: float = 0.15,
    kill_at: tuple[float, ...] = KILL_AT,
    latency: float = 0.02,
) -> dict[str, Any]:
    provider = FakeProvider(latency=latency).start()
    provider.record_bodies = False
    provider.random_faults(fault_rate, FAULTS, seed=7)
    try:
        spec, planned = write_spec(folder, provider.url, jobs, concurrency)
        samples: list[tuple[float, int]] = []
        runs = [one_run(spec, planned, at, samples) for at in (*kill_at, None)]
        served_ok = provider.count - provider.faults_served
    finally:
        provider.stop()
    checks = exactly_once(spec.parent / "run", planned)
    return {
        "jobs": jobs,
        "concurrency": concurrency,
        "fault_rate": fault_rate,
        "requests_served": provider.count,
        "faults_served": provider.faults_served,
        "answers_served_not_stored": served_ok - checks["ok_attempts"],
        "runs": runs,
        "memory": memory_profile(samples),
        "exactly_once": checks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--fault-rate", type=float, default=0.15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sdf-soak-") as tmp:
        started = time.monotonic()
        result = soak(
            Path(tmp), args.jobs, concurrency=args.concurrency, fault_rate=args.fault_rate
        )
        result["wall_s"] = round(time.monotonic() - started, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
