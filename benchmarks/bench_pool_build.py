"""The idea pool's cost goal on a demo build against the loopback fake provider.

Builds `corpora/demo.yaml` (90k tokens, the anthropic SDK against tests/fakeprovider) twice in
the same run: with the idea pool (the default) and with `ideas.pool: false` (each job asks for
its own list of five ideas, the baseline). Prints, from each ledger and manifest: kept
documents and tokens, idea-list requests per kept document, and idea-stage output tokens per
kept token; then the baseline / pool ratio.

    python benchmarks/bench_pool_build.py [--tokens 90000]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import ROOT

from fakeprovider.server import FakeProvider


def build(url: str, out: Path, tokens: int, pool: bool) -> dict[str, float]:
    sets = {
        "backend.provider": "anthropic",
        "backend.model": "claude-haiku-4-5",
        "backend.api_base": url,
        "backend.concurrency": "8",
        "budget.tokens": str(tokens),
        "ideas.pool": "true" if pool else "false",
    }
    command = [sys.executable, "-m", "sdf_corpus", "build", str(ROOT / "corpora" / "demo.yaml")]
    command += ["--out", str(out), "--no-progress"]
    for key, value in sets.items():
        command += ["--set", f"{key}={value}"]
    env = {**os.environ, "ANTHROPIC_API_KEY": "sk-ant-bench-0000"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 6):
        raise SystemExit(f"build failed ({done.returncode}): {done.stderr[-2000:]}")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    db = sqlite3.connect(out / "ledger.sqlite")
    try:
        per_job, pool, idea_out = db.execute(
            "SELECT SUM(stage='idea'), SUM(stage='idea_pool'), "
            "SUM(CASE WHEN stage IN ('idea', 'idea_pool') THEN output_tokens ELSE 0 END) "
            "FROM attempts WHERE outcome='ok'"
        ).fetchone()
        jobs = db.execute("SELECT COUNT(*) FROM jobs WHERE status='done'").fetchone()[0]
    finally:
        db.close()
    kept_docs = manifest["totals"]["documents"]
    kept_tokens = manifest["totals"]["tokens"]
    return {
        "exit": done.returncode,
        "jobs_done": jobs,
        "kept_docs": kept_docs,
        "kept_tokens": kept_tokens,
        "idea_list_requests": (per_job or 0) + (pool or 0),
        "per_job_idea_requests": per_job or 0,
        "pool_requests": pool or 0,
        "requests_per_kept_doc": ((per_job or 0) + (pool or 0)) / kept_docs,
        "idea_output_tokens": idea_out or 0,
        "idea_output_tokens_per_kept_token": (idea_out or 0) / kept_tokens,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=90_000)
    args = parser.parse_args()
    with FakeProvider() as fake, tempfile.TemporaryDirectory() as tmp:
        results = {}
        for name, pool in (("baseline (ideas.pool: false)", False), ("idea pool", True)):
            results[name] = build(fake.url, Path(tmp) / name.split()[0], args.tokens, pool)
    for name, figures in results.items():
        print(name)
        for key, value in figures.items():
            print(f"  {key}: {value:,.4f}" if isinstance(value, float) else f"  {key}: {value:,}")
    base, pool = results["baseline (ideas.pool: false)"], results["idea pool"]
    print(
        "idea-list requests per kept document: "
        f"{base['requests_per_kept_doc']:.3f} -> {pool['requests_per_kept_doc']:.3f}"
    )
    before = base["idea_output_tokens_per_kept_token"]
    after = pool["idea_output_tokens_per_kept_token"]
    print(
        f"idea-stage output tokens per kept token: {before:.4f} -> {after:.4f} "
        f"({before / after:.2f}x lower)"
    )


if __name__ == "__main__":
    main()
