"""Export at scale: wall time and peak RSS of `sdf-corpus export` on a 100M-token run.

The run is made from the same generator as bench_scale.py (`jsonl_corpus`,
realistic lengths, no junk), written straight into native shards with the
clean stage's ShardWriter (filters and dedup are bench_scale's subject, not
this one's); every fifth document is a two-turn chat so the chat formats have
work. Each export runs as its own process, measured with os.wait4. Baseline,
same run: a plain pyarrow scan of the same shards, batch by batch, turning
every row into Python objects (the least any streaming export must do).

Goal: peak RSS under 1 GiB for every format at 100M tokens.

    .venv/bin/python benchmarks/bench_export.py --data-dir /tmp/bench-export   # 100M
    .venv/bin/python benchmarks/bench_export.py --tokens 10M --formats text hf
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PYTHON, ROOT, check, machine, run_measured
from _corpus import jsonl_corpus

from sdf_corpus.clean.config import ShardConfig
from sdf_corpus.clean.tokens import ApproxCounter
from sdf_corpus.clean.writers import ShardWriter
from sdf_corpus.document import Document
from sdf_corpus.runfolder import write_json_atomic

_GENRES = ("blog_post", "news_article", "faq", "good_mental_health_story", "difficult_advice")
_SCAN = """
import sys, pyarrow.parquet as pq, pathlib
n = 0
for p in sorted(pathlib.Path(sys.argv[1]).glob("shards/*.parquet")):
    for b in pq.ParquetFile(p).iter_batches(batch_size=1024):
        n += len(b.to_pylist())
print(n)
"""


def parse_tokens(text: str) -> int:
    mult = {"k": 10**3, "m": 10**6, "g": 10**9}.get(text[-1].lower(), 1)
    return int(float(text[:-1] if mult > 1 else text) * mult)


def _document(row: dict[str, str], i: int, counter: ApproxCounter) -> Document:
    text = row["text"]
    genre = _GENRES[i % len(_GENRES)]
    doc = Document(
        id=row["id"],
        text=text,
        genre=genre,
        principle_id=row["principle_id"],
        persona_id=row["persona_id"],
        attributes={"tone": "plain", "round": 1},
        model="bench",
        backend="bench",
        n_tokens=counter.count(text),
    )
    if genre == "difficult_advice":
        ask, _, answer = text.partition(". ")
        doc.format = "chat"
        doc.messages = [
            {"role": "user", "content": ask + "."},
            {"role": "assistant", "content": answer or ask},
        ]
    return doc


def build_run(folder: Path, tokens: int, seed: int) -> int:
    """Write `folder/shards` and a manifest once; later calls reuse them."""
    manifest = folder / "manifest.json"
    if manifest.is_file() and json.loads(manifest.read_text())["totals"]["tokens"] >= tokens:
        return int(json.loads(manifest.read_text())["totals"]["documents"])
    (folder / "shards").mkdir(parents=True, exist_ok=True)
    counter = ApproxCounter()
    writer = ShardWriter(folder / "shards", ShardConfig(target_mb=128))
    written = docs = 0
    for i, line in enumerate(jsonl_corpus(None, seed=seed, words=None, junk_frac=0.0)):
        doc = _document(json.loads(line), i, counter)
        writer.write(doc)
        written += doc.n_tokens
        docs += 1
        if written >= tokens:
            break
    shards = writer.close()
    write_json_atomic(
        manifest,
        {
            "tokenizer": counter.name,
            "totals": {"documents": docs, "tokens": written},
            "shards": [s.to_json() for s in shards],
        },
    )
    return docs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokens", default="100M")
    ap.add_argument("--data-dir", type=Path, default=Path("/tmp/sdf-bench-export"))
    ap.add_argument("--formats", nargs="+", default=["text", "openai-chat", "hf"])
    ap.add_argument("--tokenizer", default=None, help="for --formats tokens")
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    run = args.data_dir / f"run-{args.tokens}"
    docs = build_run(run, parse_tokens(args.tokens), args.seed)
    print(f"machine: {machine()}; run: {docs:,} documents, {args.tokens} tokens")
    scan = run_measured([PYTHON, "-c", _SCAN, str(run)])
    check(scan, "baseline scan")
    print(f"baseline pyarrow scan: {scan.wall_s:.1f} s, {scan.maxrss_mib:.0f} MiB peak RSS")
    print("| format | wall s | CPU s | peak RSS MiB | wall vs scan |")
    print("|---|---:|---:|---:|---:|")
    for fmt in args.formats:
        out = args.data_dir / f"out-{fmt}"
        cmd = [PYTHON, "-m", "sdf_corpus", "export", str(run), "--format", fmt]
        cmd += ["--out", str(out if fmt in ("hf", "tokens") else out.with_suffix(".jsonl"))]
        cmd += ["--no-progress"] + (["--tokenizer", args.tokenizer] if args.tokenizer else [])
        m = run_measured(cmd, cwd=ROOT)
        check(m, f"export {fmt}")
        print(
            f"| {fmt} | {m.wall_s:.1f} | {m.cpu_s:.1f} | {m.maxrss_mib:.0f} | "
            f"{m.wall_s / scan.wall_s:.2f}x |"
        )


if __name__ == "__main__":
    main()
