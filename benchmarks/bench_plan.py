"""Planning at scale: time and peak memory to plan 350M tokens vs 35M tokens.

Runs `python -m sdf_corpus plan SPEC --json --set budget.tokens=N` as a child
process (start-up included; CPU and peak RSS its own) for N = 35M (the
baseline) and 350M, on corpora/sdf-350m.yaml if it exists, else on a spec
written here (backend anthropic, five genres, the repository's constitution
and personas).

    .venv/bin/python benchmarks/bench_plan.py [--tokens 350000000] [--repeat 2]
        [--subject-share 0.5]

`--subject-share` sets every genre's subject_share (the planner's subject/cast
split per job is only computed for shares strictly between 0 and 1).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PYTHON, ROOT, Measured, check, env_with, machine, run_measured

GENRES = ["blog_post", "news_article", "forum_thread", "good_mental_health_story", "faq"]


def own_spec(folder: Path) -> Path:
    spec = folder / "plan-bench.yaml"
    spec.write_text(
        f"""name: plan-bench
constitution: {ROOT / "constitution" / "example.md"}
genres: {json.dumps(GENRES)}
personas: {ROOT / "personas"}
budget: {{tokens: 35000000}}
backend: {{provider: anthropic, model: claude-haiku-4-5, concurrency: 64}}
seed: 1
output: {folder / "run"}
""",
        encoding="utf-8",
    )
    return spec


def plan(
    spec: Path, tokens: int, repeat: int, extra: tuple[str, ...] = ()
) -> tuple[Measured, dict[str, object]]:
    runs = []
    for _ in range(repeat):
        m = run_measured(
            [
                PYTHON,
                "-m",
                "sdf_corpus",
                "plan",
                str(spec),
                "--json",
                "--set",
                f"budget.tokens={tokens}",
                *extra,
            ],
            env=env_with(ANTHROPIC_API_KEY="sk-ant-bench-DUMMY"),
        )
        check(m, f"plan {tokens}")
        runs.append(m)
    best = min(runs, key=lambda r: r.wall_s)
    return best, json.loads(best.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokens", type=int, default=350_000_000)
    ap.add_argument("--baseline-tokens", type=int, default=35_000_000)
    ap.add_argument("--repeat", type=int, default=2, help="runs of each; the best is reported")
    ap.add_argument("--subject-share", type=float, default=None, help="every genre's share")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
        spec = ROOT / "corpora" / "sdf-350m.yaml"
        if not spec.is_file():
            spec = own_spec(Path(tmp))
        print(f"spec: {spec}")
        extra = []
        if args.subject_share is not None:
            import yaml

            genres = yaml.safe_load(spec.read_text())["genres"]
            shares = {g: {"subject_share": args.subject_share} for g in genres}
            extra = ["--set", f"genre_overrides={json.dumps(shares)}"]
            print(f"every genre's subject_share: {args.subject_share}")
        rows = [
            (n, *plan(spec, n, args.repeat, tuple(extra)))
            for n in (args.baseline_tokens, args.tokens)
        ]
    print(f"\n{'budget tokens':>14} {'jobs':>9} {'wall s':>7} {'CPU s':>6} {'peak RSS MiB':>12}")
    for n, m, out in rows:
        print(f"{n:>14,} {out['jobs']:>9,} {m.wall_s:>7.2f} {m.cpu_s:>6.2f} {m.maxrss_mib:>12.0f}")
    (_, b, _), (_, m, _) = rows
    ratio = args.tokens / args.baseline_tokens
    print(
        f"\n{ratio:.0f}x the tokens: {m.wall_s / b.wall_s:.2f}x the time, "
        f"{m.maxrss_mib / b.maxrss_mib:.2f}x the peak memory (baseline: the "
        f"{args.baseline_tokens:,}-token plan, same run; start-up included)"
    )


if __name__ == "__main__":
    main()
