"""Clean at scale: wall time, peak RSS and tokens/s of `sdf-corpus clean` at 10M-100M tokens.

A deterministic generator streams a raw corpus (realistic log-normal lengths,
~12% planted junk: exact and near duplicates, loops, chat preambles, French,
cut-off endings) into JSONL shards; the corpus for each smaller point is a
prefix of the largest (shard boundaries fall on the points). Then, per point,
`python -m sdf_corpus clean SHARDS... --out DIR` runs as a child process;
reported: wall time, CPU, its peak RSS (wait4 ru_maxrss), tokens/s, and time
per token relative to the smallest point (1.00 = linear).
Goal: 100M tokens in under 15 minutes and under 4 GiB on 2 cores.

    .venv/bin/python benchmarks/bench_scale.py                    # 10M, 30M, 100M
    .venv/bin/python benchmarks/bench_scale.py --tokens 10M 30M   # smaller
    .venv/bin/python benchmarks/bench_scale.py --tokens 350M --semantic-compare --repeat 3

`--semantic-compare` runs clean twice per point, `--no-semantic` then `--semantic`, and
prints what the semantic step adds to wall time, CPU and peak memory (goal at 350M
tokens: at most +20 % wall time and +600 MiB). On this machine two runs of the same
command differ by up to ±15 % in wall time (and in CPU time), so `--repeat N` alternates
N pairs and prints the median of their ratios.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PYTHON, check, machine, run_measured
from _corpus import jsonl_corpus

from sdf_corpus.clean.config import ShardConfig
from sdf_corpus.clean.tokens import ApproxCounter
from sdf_corpus.clean.writers import ShardInfo, ShardWriter

SHARD_DOCS = 20_000


def parse_tokens(text: str) -> int:
    mult = {"k": 10**3, "m": 10**6, "g": 10**9}.get(text[-1].lower(), 1)
    return int(float(text[:-1] if mult > 1 else text) * mult)


def generate(folder: Path, points: list[int], seed: int) -> dict[int, tuple[list[Path], int]]:
    """Stream the corpus into shards; per point, its shards and document count."""
    counter = ApproxCounter()
    rows = jsonl_corpus(None, seed=seed, words=None)
    out: dict[int, tuple[list[Path], int]] = {}
    shards: list[Path] = []
    tokens = docs = in_shard = 0
    f = None
    for point in sorted(points):
        while tokens < point:
            if f is None or in_shard >= SHARD_DOCS:
                if f is not None:
                    f.close()
                shards.append(folder / f"raw-{len(shards):05d}.jsonl")
                f = shards[-1].open("w", encoding="utf-8")
                in_shard = 0
            line = next(rows)
            f.write(line + "\n")
            tokens += counter.count(json.loads(line)["text"])
            docs += 1
            in_shard += 1
        if f is not None:
            f.close()
            f = None  # the next point starts a new shard
        out[point] = (list(shards), docs)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--tokens",
        nargs="+",
        default=["10M", "30M", "100M"],
        help="corpus sizes (approx-words-v1 tokens), e.g. 10M 30M 100M",
    )
    ap.add_argument("--data-dir", type=Path, help="keep the generated corpus here (reused)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        help="passed to sdf-corpus clean --set",
    )
    ap.add_argument(
        "--semantic-compare",
        action="store_true",
        help="per point, clean without and with the semantic step (same run)",
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="with --semantic-compare: this many (without, with) pairs per point, "
        "alternating; the median of the pairs' ratios is printed too",
    )
    args = ap.parse_args()
    points = sorted(parse_tokens(t) for t in args.tokens)
    print(f"machine: {machine()}")
    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    data = args.data_dir or tmp / "raw"
    data.mkdir(parents=True, exist_ok=True)
    try:
        index = data / f"index-{seed_key(args.seed, points)}.json"
        if index.is_file():
            saved = json.loads(index.read_text())
            plan = {int(k): ([Path(p) for p in v[0]], v[1]) for k, v in saved.items()}
            print(f"corpus: reusing {data}")
        else:
            t = time.perf_counter()
            plan = generate(data, points, args.seed)
            saved = {k: ([str(p) for p in v[0]], v[1]) for k, v in plan.items()}
            index.write_text(json.dumps(saved))
            size = sum(p.stat().st_size for p in plan[points[-1]][0]) / 2**30
            print(f"corpus: generated {size:.2f} GiB of JSONL in {time.perf_counter() - t:.0f} s")
        sets = [a for s in args.overrides for a in ("--set", s)]
        rows = []
        modes = [["--no-semantic"], ["--semantic"]] if args.semantic_compare else [[]]
        for point in points:
            shards, docs = plan[point]
            for mode in modes * max(1, args.repeat):
                out = tmp / f"out-{point}"
                cmd = [PYTHON, "-m", "sdf_corpus", "clean", *map(str, shards), "--out", str(out)]
                m = run_measured([*cmd, "--no-progress", *sets, *mode])
                check(m, f"clean {point:,} tokens {' '.join(mode)}")
                stats = json.loads((out / "clean_stats.json").read_text())
                if mode == ["--semantic"]:
                    stats["rewrite_s"] = rewrite_cost(out)
                shutil.rmtree(out)
                rows.append((point, docs, stats, m))
                print(
                    f"  {point:>12,} tokens {' '.join(mode)} done in {m.wall_s:.0f} s", flush=True
                )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"\n{'tokens':>12} {'docs':>8} {'kept':>8} {'wall s':>8} {'CPU s':>7} "
        f"{'peak RSS MiB':>12} "
        f"{'tokens/s':>9} {'wall/token vs first':>19} {'CPU/token vs first':>18}"
    )
    first = rows[0][3].wall_s / rows[0][2]["input"]["tokens"]
    first_cpu = rows[0][3].cpu_s / rows[0][2]["input"]["tokens"]
    for _, docs, stats, m in rows:
        tok = stats["input"]["tokens"]
        print(
            f"{tok:>12,} {docs:>8,} {stats['kept']['docs']:>8,} {m.wall_s:>8.1f} {m.cpu_s:>7.1f} "
            f"{m.maxrss_mib:>12.0f} {tok / m.wall_s:>9,.0f} {m.wall_s / tok / first:>19.2f} "
            f"{m.cpu_s / tok / first_cpu:>18.2f}"
        )
    print(
        "(goal at 100M tokens: < 900 s and < 4096 MiB peak; 1.00 = linear growth. CPU s "
        "include the worker processes; wall time also depends on other load on the machine)"
    )
    print("last run's stage timings_s:", json.dumps(rows[-1][2]["timings_s"]))
    if args.semantic_compare:
        print_semantic(rows)


def print_semantic(rows: list[tuple[int, int, dict[str, Any], Any]]) -> None:
    """What the semantic step added at each point: (without, with) pairs of runs."""
    print(
        f"\n{'tokens':>12} {'wall +%':>8} {'CPU +%':>7} {'peak RSS +MiB':>13} {'semantic s':>10} "
        f"{'1-drop rewrite wall/CPU s':>25} {'wall +% with it':>15}"
    )
    for (_, _, stats, off), (_, _, on_stats, on) in zip(rows[::2], rows[1::2], strict=True):
        dropped = _dropped(on_stats)
        wall, cpu = on_stats["rewrite_s"]
        # A run that dropped something paid its rewrites already; one that dropped
        # nothing would pay this much for a single drop.
        extra = 0.0 if dropped else wall
        print(
            f"{stats['input']['tokens']:>12,} {100 * (on.wall_s / off.wall_s - 1):>8.1f} "
            f"{100 * (on.cpu_s / off.cpu_s - 1):>7.1f} {on.maxrss_mib - off.maxrss_mib:>13.0f} "
            f"{on_stats['timings_s'].get('semantic_dedup', 0):>10.1f} "
            f"{f'{wall:.1f} / {cpu:.1f}':>25} "
            f"{100 * ((on.wall_s + extra) / off.wall_s - 1):>15.1f}  "
            f"dropped: {json.dumps(dropped)}"
        )
    pairs = list(zip(rows[::2], rows[1::2], strict=True))
    if len(pairs) > 1:
        wall = statistics.median(100 * (on[3].wall_s / off[3].wall_s - 1) for off, on in pairs)
        cpu = statistics.median(100 * (on[3].cpu_s / off[3].cpu_s - 1) for off, on in pairs)
        with_rewrite = statistics.median(
            100 * ((on[3].wall_s + (0.0 if _dropped(on[2]) else on[2]["rewrite_s"][0]))
                   / off[3].wall_s - 1)
            for off, on in pairs
        )  # fmt: skip
        print(
            f"median of {len(pairs)} pairs: wall {wall:+.1f} %, CPU {cpu:+.1f} %, "
            f"wall with one drop's rewrite {with_rewrite:+.1f} %"
        )
    print(
        "(goal at 350M tokens: wall +20 % or less, peak RSS +600 MiB or less. The step "
        "writes documents as they come and rewrites each shard that holds a drop: the "
        "rewrite column times taking one row out of this run's largest shard, and the last "
        "column adds it when the run itself dropped nothing)"
    )


def _dropped(stats: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = stats["dropped"]["by_stage"].get("semantic_dedup", {})
    return found


def rewrite_cost(out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of taking one document out of the largest shard of a clean
    run's output, as the semantic step does for each shard holding a drop."""
    manifest = json.loads((out / "manifest.json").read_text())
    infos = [ShardInfo(**s) for s in manifest["shards"]]
    largest = max(range(len(infos)), key=lambda i: infos[i].bytes)
    first_row = sum(s.rows for s in infos[:largest])
    writer = ShardWriter(out / "shards", ShardConfig(), shards=infos)
    t, c = time.perf_counter(), time.process_time()
    writer.remove([first_row])
    return time.perf_counter() - t, time.process_time() - c


def seed_key(seed: int, points: list[int]) -> str:
    return f"s{seed}-" + "-".join(str(p) for p in points)


if __name__ == "__main__":
    main()
