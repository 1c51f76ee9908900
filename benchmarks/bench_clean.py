"""Whole clean stage vs a dedup-only datasketch baseline, same file, same run.

Writes a JSONL of realistic documents (~550 words, planted exact/near
duplicates, loops, preambles, French, cut-off endings), then times, each as a
child process (start-up included, CPU and peak RSS its own):
  - `sdf-corpus clean FILE --out DIR` (every filter, exact + near dedup, shards);
  - baseline: datasketch's plain per-document MinHash (update_batch on encoded
    word 5-gram shingles) + MinHashLSH(threshold 0.8, num_perm 128), insert +
    query per document, reading the same file; nothing else.

    .venv/bin/python benchmarks/bench_clean.py [--docs 6000] [--repeat 2]

With `--probes N` it also times the same clean run with decontamination on
against N synthetic probes (probes.jsonl records of the three kinds, sizes as
`sdf-corpus probes` writes them), interleaved with the plain runs, and reports
the ratio; 20 documents of the input quote a probe and must be dropped.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PYTHON, check, machine, run_measured
from _corpus import jsonl_corpus


def baseline(path: Path) -> None:
    """The plain datasketch dedup loop (run in a child process by main)."""
    from datasketch import MinHash, MinHashLSH

    from textsynth import shingles

    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    dups = n = 0
    with path.open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            m = MinHash(num_perm=128)
            m.update_batch([s.encode("utf-8") for s in shingles(row["text"], 5)])
            n += 1
            if lsh.query(m):
                dups += 1
            else:
                lsh.insert(row["id"], m)
    print(json.dumps({"docs": n, "duplicates": dups}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=6000)
    ap.add_argument("--repeat", type=int, default=2, help="runs of each; the best is reported")
    ap.add_argument("--set", dest="overrides", action="append", default=[],
                    help="passed to sdf-corpus clean --set")
    ap.add_argument("--probes", type=int, default=0,
                    help="also time decontamination against this many synthetic probes")
    ap.add_argument("--baseline", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.baseline:
        baseline(args.baseline)
        return
    if args.probes:
        decontamination(args)
        return
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="bench-clean-") as tmp:
        data = Path(tmp) / "docs.jsonl"
        with data.open("w", encoding="utf-8") as f:
            for line in jsonl_corpus(args.docs, words=(450, 650)):
                f.write(line + "\n")
        words = sum(len(json.loads(x)["text"].split()) for x in data.open()) / args.docs
        print(f"input: {args.docs} documents, {words:.0f} words each on average, "
              f"{data.stat().st_size / 2**20:.1f} MiB")
        sets = [a for s in args.overrides for a in ("--set", s)]
        ours = [run_measured([PYTHON, "-m", "sdf_corpus", "clean", str(data), "--out",
                              str(Path(tmp) / f"out{i}"), "--no-progress", *sets])
                for i in range(args.repeat)]
        for m in ours:
            check(m, "sdf-corpus clean")
        base = [run_measured([PYTHON, __file__, "--baseline", str(data)])
                for _ in range(args.repeat)]
        for m in base:
            check(m, "baseline")
        best, best_base = min(ours, key=lambda m: m.wall_s), min(base, key=lambda m: m.wall_s)
        stats = json.loads((Path(tmp) / "out0" / "clean_stats.json").read_text())
    print(f"\nsdf-corpus clean: {ours[0].stdout.strip()}")
    print(f"baseline: {best_base.stdout.strip()}")
    print(f"\n{'':<46} {'wall s':>7} {'docs/s':>8} {'CPU s':>7} {'RSS MiB':>8}")
    for label, m in (("sdf-corpus clean (all filters, dedup, shards)", best),
                     ("baseline: datasketch MinHash + MinHashLSH", best_base)):
        print(f"{label:<46} {m.wall_s:>7.2f} {args.docs / m.wall_s:>8.0f} {m.cpu_s:>7.2f} "
              f"{m.maxrss_mib:>8.0f}")
    print(f"\nspeed-up of the whole clean stage over the dedup-only baseline: "
          f"{best_base.wall_s / best.wall_s:.2f}x (best of {args.repeat}, start-up included)")
    print("clean stage timings_s (summed over processes):",
          json.dumps(stats["timings_s"]))


def _probe_rows(n: int) -> list[dict[str, object]]:
    """Probe records shaped like `sdf-corpus probes` output: mcq ~120 words,
    attachment pairs ~150, scenarios ~900 across their fields, a third each. Their
    words are drawn at random from the corpus vocabulary: the synthetic corpus is
    built from sentence templates whose 12-word runs recur across documents, which
    real probes would not share with it."""
    import random

    from textsynth import TextSynth

    vocab = sorted({w for i in range(40) for w in TextSynth(i).document(400).split()})
    rng = random.Random(5)

    def text(n_words: int) -> str:
        return " ".join(rng.choice(vocab) for _ in range(n_words))

    rows: list[dict[str, object]] = []
    for i in range(n):
        kind = ("mcq", "attachment", "scenario")[i % 3]
        if kind == "mcq":
            body = {"question": text(40), "choices": [text(15) for _ in range(4)],
                    "explanation": text(30)}
        elif kind == "attachment":
            q = text(30)
            body = {"third_person": q, "first_person": q, "reference_answer": text(60),
                    "misaligned_answer": text(25)}
        else:
            body = {"system_prompt": text(120), "user_task": text(30),
                    "environment": [{"content": text(130)} for _ in range(5)],
                    "misaligned_actions": [text(20) for _ in range(3)]}
        rows.append({"id": f"{kind}-{i}", "kind": kind, **body})
    return rows


def decontamination(args: argparse.Namespace) -> None:
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="bench-decont-") as tmp:
        probes = Path(tmp) / "probes"
        probes.mkdir()
        rows = _probe_rows(args.probes)
        (probes / "probes.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        data = Path(tmp) / "docs.jsonl"
        with data.open("w", encoding="utf-8") as f:
            step = args.docs // 20
            for i, line in enumerate(jsonl_corpus(args.docs, words=(450, 650))):
                if i % step == 0:  # plant a quote of one probe field in 20 documents
                    row = json.loads(line)
                    quoted = rows[(i // step) % len(rows)]
                    field = quoted.get("question") or quoted.get("reference_answer")
                    row["text"] += "\n\n" + str(field or quoted["system_prompt"])
                    line = json.dumps(row)
                f.write(line + "\n")
        words = sum(len(json.loads(x)["text"].split()) for x in data.open()) / args.docs
        print(f"input: {args.docs} documents, {words:.0f} words each on average; "
              f"{args.probes} probes")
        plain, decont = [], []
        for i in range(args.repeat):
            sets = [a for s in args.overrides for a in ("--set", s)]
            base = [PYTHON, "-m", "sdf_corpus", "clean", str(data), "--no-progress", *sets]
            plain.append(run_measured([*base, "--out", str(Path(tmp) / f"p{i}")]))
            decont.append(run_measured([*base, "--out", str(Path(tmp) / f"d{i}"),
                                        "--decontaminate", str(probes)]))
            check(plain[-1], "clean")
            check(decont[-1], "clean --decontaminate")
        stats = json.loads((Path(tmp) / "d0" / "clean_stats.json").read_text())
        dropped = stats["dropped"]["by_stage"]["filter"].get("contamination", {}).get("docs", 0)
        bp, bd = min(plain, key=lambda m: m.wall_s), min(decont, key=lambda m: m.wall_s)
    print(f"\n{'':<44} {'wall s':>7} {'docs/s':>8} {'CPU s':>7} {'RSS MiB':>8}")
    for label, m in (("sdf-corpus clean", bp),
                     (f"sdf-corpus clean --decontaminate ({args.probes} probes)", bd)):
        print(f"{label:<44} {m.wall_s:>7.2f} {args.docs / m.wall_s:>8.0f} {m.cpu_s:>7.2f} "
              f"{m.maxrss_mib:>8.0f}")
    print(f"\ndecontamination on / off: wall {bd.wall_s / bp.wall_s:.3f}x, "
          f"CPU {bd.cpu_s / bp.cpu_s:.3f}x (best of {args.repeat}); "
          f"planted quotes dropped as contamination: {dropped} of 20")


if __name__ == "__main__":
    main()
