"""What the report's meaning figures cost: `sdf-corpus report` with and without them.

Builds a clean-only run of N synthetic documents (textsynth, realistic lengths) over G
genres, then times `report` and `report --no-semantic` on it, interleaved, each in its
own process (wall, CPU, peak RSS from wait4), and `inspect --similar` on one document.
The meaning figures embed at most `SemanticLimits.max_docs` documents whatever N is,
so their cost stops growing past that; the script prints how many it embedded.

    python benchmarks/bench_report_semantic.py --docs 30000 --genres 10 --repeats 2
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
from pathlib import Path

from _common import PYTHON, ROOT, check, env_with, machine, run_measured
from _corpus import realistic_words

from textsynth import TextSynth


def build_run(folder: Path, n_docs: int, n_genres: int) -> Path:
    sys.path.insert(0, str(ROOT / "src"))
    from sdf_corpus.clean.config import CleanConfig
    from sdf_corpus.clean.pipeline import clean
    from sdf_corpus.document import Document

    rng = random.Random(11)
    docs = (
        Document(
            id=f"doc-{i}",
            text=TextSynth(i).document(realistic_words(rng)),
            genre=f"genre_{i % n_genres}",
            principle_id=f"p{i % 7}",
        )
        for i in range(n_docs)
    )
    settings: dict[str, object] = {"dedup": {"exact": False, "near": False}}
    settings["filters"] = {"enabled": []}
    if "semantic" in CleanConfig.model_fields:
        settings["semantic"] = {"enabled": False}
    clean(docs, folder / "run", CleanConfig.model_validate(settings), progress=False)
    return folder / "run"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=30_000)
    ap.add_argument("--genres", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    env = env_with(PYTHONPATH=str(ROOT / "src"))
    cli = [PYTHON, "-m", "sdf_corpus"]
    with tempfile.TemporaryDirectory() as tmp:
        run = build_run(Path(tmp), args.docs, args.genres)
        print(f"machine: {machine()}; {args.docs:,} documents, {args.genres} genres")
        times: dict[str, list[tuple[float, float, float]]] = {"with": [], "without": []}
        for i in range(args.repeats):
            order = ("without", "with") if i % 2 == 0 else ("with", "without")
            for kind in order:
                flags = ["--no-progress"] + (["--no-semantic"] if kind == "without" else [])
                m = run_measured([*cli, "report", str(run), *flags], env=env)
                check(m, f"report ({kind})")
                times[kind].append((m.wall_s, m.cpu_s, m.maxrss_mib))
                if kind == "with":
                    sem = json.loads((run / "report.json").read_text())["semantic"]
                print(
                    f"  report {kind:>7} meaning: {m.wall_s:6.1f} s wall, "
                    f"{m.cpu_s:6.1f} s CPU, {m.maxrss_mib:6.0f} MiB peak RSS"
                )
        print(
            f"  embedded {sem['sample']['docs']:,} documents "
            f"({sem['sample']['docs_per_genre']:,} per genre, first "
            f"{sem['sample']['embed_chars']:,} characters)"
        )
        med = {k: statistics.median(w for w, _, _ in v) for k, v in times.items()}
        cpu = {k: statistics.median(c for _, c, _ in v) for k, v in times.items()}
        rss = {k: max(r for _, _, r in v) for k, v in times.items()}
        print(
            f"median wall: with {med['with']:.1f} s, without {med['without']:.1f} s, "
            f"ratio {med['with'] / med['without']:.2f}; median CPU with {cpu['with']:.1f} s, "
            f"without {cpu['without']:.1f} s, ratio {cpu['with'] / cpu['without']:.2f}; "
            f"added peak RSS {rss['with'] - rss['without']:+.0f} MiB"
        )
        m = run_measured([*cli, "inspect", str(run), "--similar", "doc-7", "-n", "5"], env=env)
        check(m, "inspect --similar")
        print(
            f"inspect --similar: {m.wall_s:.1f} s wall, {m.cpu_s:.1f} s CPU, "
            f"{m.maxrss_mib:.0f} MiB peak RSS; {m.stdout.splitlines()[1]}"
        )


if __name__ == "__main__":
    main()
