"""Whole clean stage vs a dedup-only datasketch baseline, same file, same run.

Writes a JSONL of realistic documents (~550 words, planted exact/near
duplicates, loops, preambles, French, cut-off endings), then times, each as a
child process (start-up included, CPU and peak RSS its own), runs interleaved:
  - `sdf-corpus clean FILE --out DIR` (every filter, exact + near dedup, shards);
  - baseline: datasketch's plain per-document MinHash (update_batch on encoded
    word 5-gram shingles) + MinHashLSH(threshold 0.8, num_perm 128), insert +
    query per document, reading the same file; nothing else.

    .venv/bin/python benchmarks/bench_clean.py [--docs 6000] [--repeat 2] [--probes 1000]
    .venv/bin/python benchmarks/bench_clean.py --per-doc [--probes 1000]  # CPU per doc, stage

With `--probes N` the same clean run is also timed with decontamination on
against N synthetic probes (probes.jsonl records of the three kinds, sizes as
`sdf-corpus probes` writes them); 20 documents of the input then quote a probe
and must be dropped. The last lines print the goal ratios, each from this run:
issue 18's whole clean vs the baseline (goal >= 3x) and issue 15's
decontamination on / off (goal <= 1.10x).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PYTHON, Measured, check, machine, run_measured
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
    ap.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        help="passed to sdf-corpus clean --set",
    )
    ap.add_argument(
        "--probes",
        type=int,
        default=0,
        help="also time decontamination against this many synthetic probes",
    )
    ap.add_argument(
        "--per-doc",
        action="store_true",
        help="only the per-document work, in this process: CPU us per document and stage",
    )
    ap.add_argument("--baseline", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.baseline:
        baseline(args.baseline)
        return
    if args.per_doc:
        per_doc(args)
        return
    print(f"machine: {machine()}; load average before: {_load()}")
    with tempfile.TemporaryDirectory(prefix="bench-clean-") as tmp:
        data, probes = _inputs(Path(tmp), args)
        words = sum(len(json.loads(x)["text"].split()) for x in data.open()) / args.docs
        print(
            f"input: {args.docs} documents, {words:.0f} words each on average, "
            f"{data.stat().st_size / 2**20:.1f} MiB" + (f"; {args.probes} probes" * bool(probes))
        )
        sets = [a for s in args.overrides for a in ("--set", s)]
        cmd = [PYTHON, "-m", "sdf_corpus", "clean", str(data), "--no-progress", *sets]
        runs: dict[str, list[Measured]] = {"clean": [], "decont": [], "base": []}

        def command(kind: str, i: int) -> list[str]:
            if kind == "base":
                return [PYTHON, __file__, "--baseline", str(data)]
            if kind == "decont":
                return [*cmd, "--out", str(Path(tmp) / f"d{i}"), "--decontaminate", str(probes)]
            return [*cmd, "--out", str(Path(tmp) / f"p{i}")]

        kinds = ["clean", "decont", "base"] if probes else ["clean", "base"]
        for i in range(args.repeat):
            # Interleaved, so a load swing hits every kind alike, and in a rotated order:
            # on this machine a run measured slower right after another heavy one.
            for kind in kinds[i % len(kinds) :] + kinds[: i % len(kinds)]:
                runs[kind].append(run_measured(command(kind, i)))
                check(runs[kind][-1], kind)
        best = {k: min(v, key=lambda m: m.wall_s) for k, v in runs.items() if v}
        stats = json.loads((Path(tmp) / "p0" / "clean_stats.json").read_text())
        dropped = 0
        if probes:
            dstats = json.loads((Path(tmp) / "d0" / "clean_stats.json").read_text())
            by_filter = dstats["dropped"]["by_stage"]["filter"]
            dropped = by_filter.get("contamination", {}).get("docs", 0)
    print(f"\nsdf-corpus clean: {runs['clean'][0].stdout.strip()}")
    print(f"baseline: {best['base'].stdout.strip()}")
    print(f"\n{'':<50} {'wall s':>7} {'docs/s':>8} {'CPU s':>7} {'RSS MiB':>8}")
    labels = {
        "clean": "sdf-corpus clean (all filters, dedup, shards)",
        "decont": f"sdf-corpus clean --decontaminate ({args.probes} probes)",
        "base": "baseline: datasketch MinHash + MinHashLSH",
    }
    for key, m in best.items():
        print(
            f"{labels[key]:<50} {m.wall_s:>7.2f} {args.docs / m.wall_s:>8.0f} {m.cpu_s:>7.2f} "
            f"{m.maxrss_mib:>8.0f}"
        )
    print("clean stage timings_s (summed over processes):", json.dumps(stats["timings_s"]))
    print(f"\nload average after: {_load()}; best of {args.repeat}, start-up included")
    ours, base = best["clean"], best["base"]
    print(
        f"GOAL issue 18, whole clean vs datasketch dedup-only (>= 3x): "
        f"wall {base.wall_s / ours.wall_s:.2f}x, CPU {base.cpu_s / ours.cpu_s:.2f}x"
        f"{_paired(runs['base'], runs['clean'])}"
    )
    if probes:
        on = best["decont"]
        print(
            f"GOAL issue 15, decontamination on / off (<= 1.10x): "
            f"wall {on.wall_s / ours.wall_s:.3f}x, CPU {on.cpu_s / ours.cpu_s:.3f}x"
            f"{_paired(runs['decont'], runs['clean'])}; "
            f"planted quotes dropped as contamination: {dropped} of 20"
        )


def _paired(top: list[Measured], bottom: list[Measured]) -> str:
    """The median of the ratios within each repeat: two runs seconds apart share the
    machine's load, so this is steadier than a ratio of two best-of-N figures, whose
    minima can come from different moments."""
    if len(top) < 2:
        return ""
    wall = statistics.median(a.wall_s / b.wall_s for a, b in zip(top, bottom, strict=True))
    cpu = statistics.median(a.cpu_s / b.cpu_s for a, b in zip(top, bottom, strict=True))
    n = len(top)
    return f" (median of the {n} paired runs: wall {wall:.3f}x, CPU {cpu:.3f}x)"


def per_doc(args: argparse.Namespace) -> None:
    """CPU per document of the work the clean stage's workers do (count, filters,
    digest, signature), in this process, timed with `time.process_time` per stage:
    a figure a busy machine disturbs far less than wall time."""
    import time
    import types

    import sdf_corpus.clean.workers as workers
    from sdf_corpus.clean.config import CleanConfig
    from sdf_corpus.document import Document

    print(f"machine: {machine()}; load average before: {_load()}")
    with tempfile.TemporaryDirectory(prefix="bench-clean-") as tmp:
        data, probes = _inputs(Path(tmp), args)
        rows = [json.loads(line) for line in data.open(encoding="utf-8")]
        config = {"decontamination": {"files": [str(probes)]}} if probes else {}
        # the stage's own per-stage timers, reading CPU time instead of wall time
        workers.time = types.SimpleNamespace(perf_counter=time.process_time)  # type: ignore[assignment]
        prep = workers.Preparer(CleanConfig.model_validate(config), None)
        docs = [Document(id=r["id"], text=r["text"], genre=r.get("genre", "")) for r in rows]
        timings: dict[str, float] = {}
        t0 = time.process_time()
        for lo in range(0, len(docs), workers.CHUNK_DOCS):
            _, stats = prep.prepare(docs[lo : lo + workers.CHUNK_DOCS])
            for key, value in stats.timings.items():
                timings[key] = timings.get(key, 0.0) + value
        total = time.process_time() - t0
    print(f"{len(docs)} documents: {total / len(docs) * 1e6:.0f} us/doc CPU in all")
    for key, value in sorted(timings.items(), key=lambda kv: -kv[1]):
        print(f"  {key:<28} {value / len(docs) * 1e6:7.1f} us/doc")
    print(f"load average after: {_load()}")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _inputs(tmp: Path, args: argparse.Namespace) -> tuple[Path, Path | None]:
    """The documents (with 20 quoting a probe when there are probes) and the probe set."""
    data = tmp / "docs.jsonl"
    rows = _probe_rows(args.probes) if args.probes else []
    step = max(args.docs // 20, 1)
    with data.open("w", encoding="utf-8") as f:
        for i, line in enumerate(jsonl_corpus(args.docs, words=(450, 650))):
            if rows and i % step == 0:  # plant a quote of one probe field
                row = json.loads(line)
                quoted = rows[(i // step) % len(rows)]
                field = quoted.get("question") or quoted.get("reference_answer")
                row["text"] += "\n\n" + str(field or quoted["system_prompt"])
                line = json.dumps(row)
            f.write(line + "\n")
    if not rows:
        return data, None
    probes = tmp / "probes"
    probes.mkdir()
    (probes / "probes.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return data, probes


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
            body = {
                "question": text(40),
                "choices": [text(15) for _ in range(4)],
                "explanation": text(30),
            }
        elif kind == "attachment":
            q = text(30)
            body = {
                "third_person": q,
                "first_person": q,
                "reference_answer": text(60),
                "misaligned_answer": text(25),
            }
        else:
            body = {
                "system_prompt": text(120),
                "user_task": text(30),
                "environment": [{"content": text(130)} for _ in range(5)],
                "misaligned_actions": [text(20) for _ in range(3)],
            }
        rows.append({"id": f"{kind}-{i}", "kind": kind, **body})
    return rows


if __name__ == "__main__":
    main()
