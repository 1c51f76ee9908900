"""Near-duplicate detection: our signatures + LSH vs datasketch's plain MinHash + MinHashLSH.

The same documents (tests/textsynth.py prose of 300-800 words, with near
duplicates planted at exact shingle Jaccard levels 0.5 / 0.7 / 0.85 / 0.95)
go through
  (a) sdf_corpus: normalised word 5-gram shingles, batch signatures and
      shingle-hash sets (`MinHasher.signatures_and_sets`, in a process pool over
      batches when --workers > 1), then `NearDedup`'s LSH query + exact-Jaccard
      verification + insert, in input order (the clean stage's own path);
  (b) datasketch: per document `MinHash(num_perm).update_batch(encoded shingles)`,
      then `MinHashLSH(threshold, num_perm)` query (a hit = duplicate) + insert.
Reported: documents/s of each (shingling included), the ratio, and against the
exact Jaccard of every flagged pair: recall of planted pairs at or above the
threshold and the false-positive share of flagged pairs (true Jaccard below it).

    .venv/bin/python benchmarks/bench_minhash.py [--docs 6000] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine
from _corpus import Planted, jaccard_of, planted_corpus

from sdf_corpus.clean.config import DedupConfig
from sdf_corpus.clean.dedup import NearDedup
from sdf_corpus.clean.minhash import MinHasher
from textsynth import shingles

LEVELS = (0.5, 0.7, 0.85, 0.95)
BATCH = 500
_HASHER: MinHasher | None = None


def _sigs(texts: list[str]) -> tuple[object, list[bytes]]:
    global _HASHER
    if _HASHER is None:
        cfg = DedupConfig()
        _HASHER = MinHasher(cfg.num_perm, cfg.ngram, cfg.seed)
    return _HASHER.signatures_and_sets(texts)


def run_ours(docs: list[Planted], workers: int) -> tuple[float, dict[str, str]]:
    near = NearDedup(DedupConfig())
    batches = [docs[i : i + BATCH] for i in range(0, len(docs), BATCH)]
    flagged: dict[str, str] = {}
    t0 = time.perf_counter()
    if workers > 1:
        pool = ProcessPoolExecutor(workers)
        sig_iter = pool.map(_sigs, [[d.text for d in b] for b in batches])
    else:
        pool = None
        sig_iter = (_sigs([d.text for d in b]) for b in batches)
    for batch, (sigs, sets) in zip(batches, sig_iter, strict=True):
        for d, match in zip(
            batch, near.process_signatures([d.id for d in batch], sigs, sets), strict=True
        ):
            if match is not None:
                flagged[d.id] = match[0]
    elapsed = time.perf_counter() - t0
    if pool is not None:
        pool.shutdown()
    return elapsed, flagged


def run_datasketch(docs: list[Planted]) -> tuple[float, dict[str, str]]:
    from datasketch import MinHash, MinHashLSH

    cfg = DedupConfig()
    lsh = MinHashLSH(threshold=cfg.threshold, num_perm=cfg.num_perm)
    flagged: dict[str, str] = {}
    t0 = time.perf_counter()
    for d in docs:
        m = MinHash(num_perm=cfg.num_perm)
        m.update_batch([s.encode("utf-8") for s in shingles(d.text, cfg.ngram)])
        hits = lsh.query(m)
        if hits:
            flagged[d.id] = sorted(hits)[0]
        else:
            lsh.insert(d.id, m)
    return time.perf_counter() - t0, flagged


def quality(docs: list[Planted], flagged: dict[str, str], threshold: float) -> dict[str, float]:
    by_id = {d.id: d for d in docs}
    sh: dict[str, set[str]] = {}

    def s(doc_id: str) -> set[str]:
        if doc_id not in sh:
            sh[doc_id] = shingles(by_id[doc_id].text)
        return sh[doc_id]

    positives = [d for d in docs if d.original and d.jaccard is not None and d.jaccard >= threshold]
    found = sum(1 for d in positives if d.id in flagged)
    true_j = {k: jaccard_of(s(k), s(v)) for k, v in flagged.items()}
    false_pos = sum(1 for j in true_j.values() if j < threshold)
    floor = threshold - 0.1  # the bound: no merged pair below J = 0.7
    below = [d for d in docs if d.original and d.jaccard is not None and d.jaccard < threshold]
    return {
        "positives": len(positives),
        "recall": found / max(len(positives), 1),
        "flagged": len(flagged),
        "false_pos": false_pos,
        "fp_share": false_pos / max(len(flagged), 1),
        "precision": 1 - false_pos / max(len(flagged), 1),
        "below_flagged": sum(1 for d in below if d.id in flagged),
        "below": len(below),
        "min_j": min(true_j.values(), default=1.0),
        "under_floor": sum(1 for j in true_j.values() if j < floor),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=6000, help="originals (plus ~1/2 as many dups)")
    ap.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="processes computing our signatures (1 = in the main process)",
    )
    ap.add_argument(
        "--levels",
        type=float,
        nargs="+",
        default=list(LEVELS),
        help="Jaccard levels of the planted near duplicates",
    )
    args = ap.parse_args()
    levels = tuple(args.levels)
    print(f"machine: {machine()}")
    t = time.perf_counter()
    docs = planted_corpus(args.docs, levels)
    print(
        f"corpus: {len(docs)} documents ({sum(1 for d in docs if d.original)} planted near "
        f"duplicates at J = {levels}), built in {time.perf_counter() - t:.1f} s"
    )
    threshold = DedupConfig().threshold
    rows = []
    for label, fn in (
        (
            f"(a) sdf_corpus MinHasher + LSH, {args.workers} worker(s)",
            lambda: run_ours(docs, args.workers),
        ),
        ("(a) sdf_corpus MinHasher + LSH, 1 process", lambda: run_ours(docs, 1)),
        ("(b) datasketch MinHash + MinHashLSH", lambda: run_datasketch(docs)),
    ):
        if label.startswith("(a) sdf_corpus MinHasher + LSH, 1 process") and args.workers == 1:
            continue
        elapsed, flagged = fn()
        rows.append((label, len(docs) / elapsed, quality(docs, flagged, threshold)))
    base = rows[-1][1]
    print(
        f"\nnum_perm=128, threshold={threshold}, word 5-gram shingles, "
        f"shingling included in both timings"
    )
    print(
        f"{'method':<48} {'docs/s':>8} {'vs (b)':>7} {'recall':>7} {'precision':>9} "
        f"{'FP/flagged':>10} {'<thr flagged':>12} {'min J':>6} {'<0.7':>5}"
    )
    for label, rate, q in rows:
        print(
            f"{label:<48} {rate:>8.0f} {rate / base:>6.1f}x {q['recall']:>7.3f} "
            f"{q['precision']:>9.3f} {q['false_pos']:>4}/{q['flagged']:<5} "
            f"{q['below_flagged']:>5}/{q['below']:<6} {q['min_j']:>6.3f} "
            f"{q['under_floor']:>5}"
        )
    print(
        f"(recall over {rows[0][2]['positives']} planted pairs with exact J >= {threshold}; "
        f"'<thr flagged' = planted pairs below the threshold that were flagged; 'min J' = "
        f"lowest exact J of a flagged pair, '<0.7' = flagged pairs below J = 0.7)"
    )


if __name__ == "__main__":
    main()
