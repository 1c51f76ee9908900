"""The reader layer's cost: `read_documents` over JSONL, gzip JSONL and Parquet.

Writes one corpus (default 40,000 documents of ~300 words) as JSONL, JSONL.gz
and Parquet, then times, each as a child process (start-up included, CPU and
peak RSS its own):
  - `read_documents` (sdf_corpus.io: byte sniffing, per-line UTF-8 checks,
    validation, Document mapping) over each file;
  - baseline: the minimal loop a reader cannot do without, in the same run:
    `for line in open(path, encoding="utf-8"): json.loads(line)` (JSONL) and
    `ParquetFile.iter_batches(...).to_pylist()` (Parquet), no Documents.

    .venv/bin/python benchmarks/bench_readers.py [--docs 40000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PYTHON, check, machine, run_measured


def write_corpus(folder: Path, docs: int) -> dict[str, Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from textsynth import TextSynth

    rows = [{"id": str(i), "text": TextSynth(i).document(300), "genre": "g"} for i in range(docs)]
    plain = folder / "docs.jsonl"
    plain.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    packed = folder / "docs.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes(), compresslevel=6))
    table = folder / "docs.parquet"
    pq.write_table(pa.Table.from_pylist(rows), table)
    return {"jsonl": plain, "jsonl.gz": packed, "parquet": table}


def ours(path: str) -> None:
    from sdf_corpus.clean.inputs import read_documents

    n = sum(1 for _ in read_documents([Path(path)]))
    print(n)


def baseline(path: str) -> None:
    n = 0
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=1000):
            n += len(batch.to_pylist())
    else:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            for line in f:
                json.loads(line)
                n += 1
    print(n)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=40000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        # written by a child: a child's peak RSS starts from its parent's, so the parent stays small
        check(run_measured([PYTHON, __file__, "--write", tmp, str(args.docs)]), "writing")
        files = {k: Path(tmp) / f"docs.{k}" for k in ("jsonl", "jsonl.gz", "parquet")}
        print(f"{args.docs:,} documents; best of {args.repeat}")
        print(
            f"{'file':<10} {'ours s':>7} {'CPU s':>6} {'MiB':>5} "
            f"{'base s':>7} {'CPU s':>6} {'MiB':>5} {'wall x':>7} {'CPU x':>6}"
        )
        for kind, path in files.items():
            best = {}
            for role in ("ours", "baseline"):
                runs = []
                for _ in range(args.repeat):
                    cmd = [PYTHON, __file__, f"--{role}", str(path)]
                    m = run_measured(cmd)
                    check(m, f"{role} {kind}")
                    assert int(m.stdout.split()[-1]) == args.docs
                    runs.append(m)
                best[role] = min(runs, key=lambda m: m.wall_s)
            o, b = best["ours"], best["baseline"]
            print(
                f"{kind:<10} {o.wall_s:>7.2f} {o.cpu_s:>6.2f} {o.maxrss_mib:>5.0f} "
                f"{b.wall_s:>7.2f} {b.cpu_s:>6.2f} {b.maxrss_mib:>5.0f} "
                f"{o.wall_s / b.wall_s:>7.2f} {o.cpu_s / b.cpu_s:>6.2f}"
            )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--write":
        write_corpus(Path(sys.argv[2]), int(sys.argv[3]))
    elif len(sys.argv) == 3 and sys.argv[1] in ("--ours", "--baseline"):
        (ours if sys.argv[1] == "--ours" else baseline)(sys.argv[2])
    else:
        main()
