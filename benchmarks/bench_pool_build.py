"""The idea pool's cost goal on a demo build against the loopback fake provider.

Builds `corpora/demo.yaml` (90k tokens, the anthropic SDK against tests/fakeprovider) twice in
the same run: with the idea pool (the default) and with `ideas.pool: false` (each job asks for
its own list of five ideas, the baseline). Prints, from each ledger and manifest: kept
documents and tokens, idea-list requests per kept document, and idea-stage output tokens per
kept token; then the baseline / pool ratio. `--batch` adds a third build, the pool under
`build --batch` (its list requests go out as batches too): the idea stage's dollars per kept
million tokens at the batch price against the pool's immediate build, and the requests the
fake answered immediately (none should be); and a fourth, the same `--batch` build with
`ideas.batch_width: 1` (one request of a cell per round, the baseline for the rounds): the
pool's batch rounds at the default width against width 1.

`--retold SHARE` switches the fake to its "retold plots" mode (that share of idea items
offers one of six shared plots), so the pool has repeats to refuse and re-ask.

    python benchmarks/bench_pool_build.py [--tokens 90000] [--batch] [--retold 0.5]
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


def build(
    fake: FakeProvider, out: Path, tokens: int, pool: bool, batch: bool = False, width: int = 0
) -> dict[str, float]:
    url = fake.url
    sets = {
        "backend.provider": "anthropic",
        "backend.model": "claude-haiku-4-5",
        "backend.api_base": url,
        "backend.concurrency": "8",
        "budget.tokens": str(tokens),
        "ideas.pool": "true" if pool else "false",
        "backend.batch.poll_initial": "0.05",
        "backend.batch.poll_max": "0.2",
    }
    if width:
        sets["ideas.batch_width"] = str(width)
    command = [sys.executable, "-m", "sdf_corpus", "build", str(ROOT / "corpora" / "demo.yaml")]
    command += ["--out", str(out), "--no-progress", *(["--batch"] if batch else [])]
    for key, value in sets.items():
        command += ["--set", f"{key}={value}"]
    env = {**os.environ, "ANTHROPIC_API_KEY": "sk-ant-bench-0000"}
    immediate = fake.count
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 6):
        raise SystemExit(f"build failed ({done.returncode}): {done.stderr[-2000:]}")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    db = sqlite3.connect(out / "ledger.sqlite")
    try:
        per_job, pool, idea_out, idea_usd = db.execute(
            "SELECT SUM(stage='idea'), SUM(stage='idea_pool'), "
            "SUM(CASE WHEN stage IN ('idea', 'idea_pool') THEN output_tokens ELSE 0 END), "
            "SUM(CASE WHEN stage IN ('idea', 'idea_pool') THEN cost_usd ELSE 0 END) "
            "FROM attempts WHERE outcome='ok'"
        ).fetchone()
        jobs = db.execute("SELECT COUNT(*) FROM jobs WHERE status='done'").fetchone()[0]
        # --batch: the pool's rounds (batches carrying pool requests), one after another
        rounds = db.execute(
            "SELECT COUNT(DISTINCT seq) FROM batch_requests WHERE stage='idea_pool'"
        ).fetchone()[0]
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
        "idea_usd_per_kept_mtok": (idea_usd or 0.0) / kept_tokens * 1e6,
        "requests_answered_immediately": fake.count - immediate,
        "pool_batches": rounds,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=90_000)
    parser.add_argument("--batch", action="store_true", help="also build the pool with --batch")
    parser.add_argument("--retold", type=float, default=None, help="the fake's retold share")
    args = parser.parse_args()
    runs = [("baseline (ideas.pool: false)", False, False, 0), ("idea pool", True, False, 0)]
    if args.batch:
        runs.append(("idea pool, --batch", True, True, 0))
        runs.append(("idea pool, --batch, ideas.batch_width 1", True, True, 1))
    with FakeProvider() as fake, tempfile.TemporaryDirectory() as tmp:
        if args.retold is not None:
            fake.retold(share=args.retold)
        results = {}
        for i, (name, pool, batch, width) in enumerate(runs):
            results[name] = build(fake, Path(tmp) / str(i), args.tokens, pool, batch, width)
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
    if args.batch:
        batched = results["idea pool, --batch"]
        usd, batch_usd = pool["idea_usd_per_kept_mtok"], batched["idea_usd_per_kept_mtok"]
        print(
            f"idea-stage $ per kept Mtok, pool: immediate {usd:.4f} -> --batch {batch_usd:.4f} "
            f"({batch_usd / usd:.3f}x); requests answered immediately under --batch: "
            f"{batched['requests_answered_immediately']}"
        )
        one = results["idea pool, --batch, ideas.batch_width 1"]
        print(
            f"pool batch rounds: ideas.batch_width 1 {one['pool_batches']} -> default "
            f"{batched['pool_batches']} ({one['pool_batches'] / batched['pool_batches']:.2f}x "
            f"fewer); pool requests {one['pool_requests']} -> {batched['pool_requests']}"
        )


if __name__ == "__main__":
    main()
