"""The semantic step's decision at the end of the input: CPU, wall time and added memory.

Holds N bench_scale documents (one genre, realistic lengths: `_corpus.jsonl_corpus`) in
`SemanticDedup` with their real text vectors and word sets, then, each in a forked child
of that one process (so each starts from the same held state), decides them:
- baseline: a neighbour list per document (`neighbours.nearest`, the 30 nearest with
  their cosines) and the greedy pass over the (n x 30) arrays, as the step did before;
- the step's `decide()` (one scan that keeps backgrounds and the pairs that can merge),
  on 1 and on 2 threads; and on 2 threads with large inverted lists split
  (`neighbours.plan_blocks(split=True)`, off in the step: it changes which approximate
  neighbours are found), and with the exact search (no inverted lists) for reference.
Reported: wall, CPU (the child's), peak RSS above the held state's, and whether the
drops are the same.

With `--prune-compare`, only the step's `decide()` on 2 threads, with the scan's exact
first pass (`semantic.PRUNE`) and without it, in the same run: CPU, the share of
documents it settled, the inverted file's planning (k-means and assignment) CPU, and
whether the drops are identical. `--from DIR` holds the first N documents of a
bench_scale corpus already written (DIR/raw-*.jsonl; exact copies of a text skipped, as
exact dedup would) instead of generating them.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_semantic_decide.py --docs 36000
    PYTHONPATH=src .venv/bin/python benchmarks/bench_semantic_decide.py --docs 80000 \
        --from /tmp/scale350 --prune-compare
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import xxhash

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine
from _corpus import jsonl_corpus

from sdf_corpus.clean import neighbours, semantic
from sdf_corpus.clean.config import SemanticConfig
from sdf_corpus.clean.neighbours import nearest
from sdf_corpus.clean.semantic import SemanticDedup, background_rank
from sdf_corpus.clean.semantic_common import content_overlap
from sdf_corpus.clean.semantic_words import content_features
from sdf_corpus.document import Document
from sdf_corpus.embed import load_embedder


def held_step(n_docs: int, threads: int, source: Path | None = None) -> SemanticDedup:
    step = SemanticDedup(SemanticConfig(), threads)
    embedder = load_embedder()
    lines = _read(source, n_docs) if source else jsonl_corpus(n_docs, words=None)
    rows = [json.loads(line) for line in lines]
    for lo in range(0, len(rows), 256):
        chunk = rows[lo : lo + 256]
        vectors, sets = content_features([r["text"] for r in chunk], embedder)
        for r, v, w in zip(chunk, vectors, sets, strict=True):
            doc = Document(id=r["id"], text=r["text"], genre=r["genre"])
            step.hold(doc, v, w, xxhash.xxh3_128_digest(r["text"].encode()))
    return step


def _read(source: Path, n_docs: int) -> Iterator[str]:
    """The first `n_docs` distinct texts of a bench_scale corpus's raw files."""
    seen: set[bytes] = set()
    for path in sorted(source.glob("raw-*.jsonl")):
        with path.open() as f:
            for line in f:
                key = xxhash.xxh3_128_digest(json.loads(line)["text"].encode())
                if key not in seen:
                    seen.add(key)
                    yield line
                    if len(seen) >= n_docs:
                        return


def baseline(step: SemanticDedup) -> dict[int, str]:
    """The neighbour-list decision on the same held documents (one genre)."""
    step._stack()
    cfg = step.cfg
    digests = bytes(step._digests)
    ids = [step._ids.get(i) for i in range(len(step))]
    order = np.asarray(
        sorted(range(len(step)), key=lambda i: (digests[16 * i : 16 * i + 16], ids[i]))
    )
    x = np.concatenate(step._blocks)[order]
    k = background_rank(cfg.background_rank, order.size)
    common = step._counts.common(0, order.size, cfg.common_share, cfg.common_min_docs)
    nbr, sim = nearest(x, k, cfg.exact_max_docs)
    background = sim[:, k - 1]
    rank = np.arange(order.size)[:, None]
    floor = np.maximum(background[:, None], background[np.maximum(nbr, 0)])
    possible = (nbr >= 0) & (nbr < rank) & (sim >= cfg.threshold) & (sim - floor >= cfg.margin)
    kept = np.ones(order.size, dtype=bool)
    out: dict[int, str] = {}
    for r in np.flatnonzero(possible.any(axis=1)).tolist():
        words = step._sets.get(int(order[r]))
        for col in np.flatnonzero(possible[r]).tolist():
            other = int(nbr[r, col])
            overlap = content_overlap(words, step._sets.get(int(order[other])), common)
            if kept[other] and overlap >= cfg.min_word_overlap:
                kept[r] = False
                out[int(order[r])] = ids[int(order[other])].decode()
                break
    return out


def decided(step: SemanticDedup) -> dict[int, str]:
    return {i: m[0] for i, m in step.decide().items()}


_EXTRA: dict[str, float] = {}  # figures a child adds to its report


def in_child(fn: Callable[[], dict[int, str]]) -> dict[str, Any]:
    """Run `fn` in a forked child; its wall, CPU, peak RSS over its start, result."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM restarts from here
        start = _status_mib("VmRSS")
        t = time.perf_counter()
        result = fn()
        wall = time.perf_counter() - t
        peak = _status_mib("VmHWM") - start
        with os.fdopen(write, "w") as f:
            report = {"wall": wall, "peak_mib": peak, "drops": sorted(result.items())}
            json.dump({**report, **_EXTRA}, f)
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        data = json.load(f)
    _, _, usage = os.wait4(pid, 0)
    data["cpu"] = usage.ru_utime + usage.ru_stime
    return data


def _status_mib(field: str) -> float:
    with open("/proc/self/status") as f:
        line = next(x for x in f if x.startswith(field + ":"))
    return int(line.split()[1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=36_000)
    ap.add_argument("--from", dest="source", type=Path, help="a bench_scale --data-dir")
    ap.add_argument("--prune-compare", action="store_true")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    t = time.process_time()
    step = held_step(args.docs, 1, args.source)
    print(f"held {len(step):,} documents ({time.process_time() - t:.1f} CPU s to embed)")
    print(f"self peak so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if args.prune_compare:
        _prune_compare(step)
        step.close()
        return
    runs: dict[str, Callable[[], dict[int, str]]] = {
        "baseline (neighbour lists)": lambda: baseline(step),
        "decide(), 1 thread": lambda: _threads(step, 1),
        "decide(), 2 threads": lambda: _threads(step, 2),
        "decide(), 2 threads, split": lambda: _threads(step, 2, split=True),
        "exact search, 2 threads": lambda: _threads(step, 2, exact=True),
    }
    results = {name: in_child(fn) for name, fn in runs.items()}
    base = results["baseline (neighbour lists)"]
    print(f"\n{'':28} {'wall s':>7} {'CPU s':>7} {'+peak MiB':>9} {'CPU vs base':>11} drops")
    for name, r in results.items():
        same = "same as baseline" if r["drops"] == base["drops"] else "different"
        print(
            f"{name:28} {r['wall']:>7.2f} {r['cpu']:>7.2f} {r['peak_mib']:>9.0f} "
            f"{base['cpu'] / r['cpu']:>10.2f}x {len(r['drops'])} ({same})"
        )
    step.close()


def _prune_compare(step: SemanticDedup) -> None:
    """decide() on 2 threads with and without the first pass, in the same run."""
    full = in_child(lambda: _counted(step, prune=False))
    pruned = in_child(lambda: _counted(step, prune=True))
    head = f"{'wall s':>7} {'CPU s':>7} {'plan CPU s':>10} {'+peak MiB':>9} settled"
    print(f"\n{'decide(), 2 threads':24} {head}")
    for name, r in (("full scan", full), ("exact first pass", pruned)):
        print(
            f"{name:24} {r['wall']:>7.2f} {r['cpu']:>7.2f} {r['plan_cpu']:>10.2f} "
            f"{r['peak_mib']:>9.0f} {r['settled'] / len(step):>6.1%}"
        )
    same = "identical" if pruned["drops"] == full["drops"] else "DIFFERENT"
    print(f"drops: {len(full['drops'])} without, {len(pruned['drops'])} with the pass ({same})")
    scan_full, scan_pruned = (r["cpu"] - r["plan_cpu"] for r in (full, pruned))
    print(f"CPU: {full['cpu'] / pruned['cpu']:.2f}x less in all, {scan_full / scan_pruned:.2f}x")
    print("less outside the inverted file's planning (k-means + assignment)")


def _counted(step: SemanticDedup, prune: bool) -> dict[int, str]:
    """decide() on 2 threads; notes the rows settled and the planning's CPU."""
    step.threads = 2
    semantic.PRUNE = prune
    _EXTRA.update(settled=0, plan_cpu=0.0)
    plan, settle = semantic.plan_blocks, semantic.Settle

    def planned(x: Any, exact_max: int) -> list[neighbours.Block]:
        t = time.process_time()
        blocks = plan(x, exact_max)
        _EXTRA["plan_cpu"] += time.process_time() - t
        return blocks

    def counting(k: int, floor: float, then: Callable[[Any, Any], None]) -> neighbours.Settle:
        def count(rows: Any, lower: Any) -> None:
            _EXTRA["settled"] += rows.size
            then(rows, lower)

        return settle(k, floor, count)

    semantic.plan_blocks = planned  # type: ignore[assignment]
    semantic.Settle = counting  # type: ignore[assignment,misc]
    return decided(step)


def _threads(
    step: SemanticDedup, threads: int, split: bool = False, exact: bool = False
) -> dict[int, str]:
    step.threads = threads
    if exact:
        step.cfg = step.cfg.model_copy(update={"exact_max_docs": 10**9})
    if split:
        plan = semantic.plan_blocks
        semantic.plan_blocks = lambda x, m: plan(x, m, split=True)  # type: ignore[assignment]
    return decided(step)


if __name__ == "__main__":
    main()
