"""CPU the closed budget loop adds per finished job: its streaming estimate.

Builds corpora/demo.yaml at 30k tokens against the in-process fake provider
(tests/fakeprovider, answers 2.5x the asked length), then times, over the run's
finished jobs, assembling each job's document (`to_document`, the baseline: work
every finished job costs anyway at clean time) against the loop's estimate
(`KeepEstimator.kept_tokens`, which assembles it and runs the clean stage's
filters). Prints ms per job for both and their ratio; the loop filters every job
until a genre has 64 measured, then one in 8 (`budget.loop.SAMPLE_EVERY`).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_budget.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from click.testing import CliRunner  # noqa: E402

from fakeprovider.lengths import scaled  # noqa: E402
from fakeprovider.server import FakeProvider  # noqa: E402
from sdf_corpus.budget.loop import SAMPLE_AFTER, SAMPLE_EVERY  # noqa: E402
from sdf_corpus.budget.yields import KeepEstimator  # noqa: E402
from sdf_corpus.cli import main  # noqa: E402
from sdf_corpus.generate.assemble import to_document  # noqa: E402
from sdf_corpus.spec.load import load_corpus  # noqa: E402
from sdf_corpus.store import Store  # noqa: E402


def _build(provider: FakeProvider, run: Path) -> list[str]:
    sets = [
        f"backend={{provider: anthropic, model: claude-haiku-4-5, api_base: '{provider.url}', "
        "concurrency: 8}",
        "budget.tokens=30000",
    ]
    args = ["build", str(ROOT / "corpora" / "demo.yaml"), "--out", str(run), "--no-progress"]
    for s in sets:
        args += ["--set", s]
    result = CliRunner(env={"ANTHROPIC_API_KEY": "sk-ant-bench-DUMMY"}).invoke(main, args)
    assert result.exit_code == 0, result.output
    return sets


def main_() -> None:
    with tempfile.TemporaryDirectory() as tmp, FakeProvider() as provider:
        provider.responder = scaled(2.5)
        run = Path(tmp) / "run"
        sets = _build(provider, run)
        corpus = load_corpus(ROOT / "corpora" / "demo.yaml", sets, run)
        store = Store(run / "ledger.sqlite")
        items = [(store.job(i), store.outputs(i)) for i, _ in store.done_ids()]
        estimator = KeepEstimator(corpus)
        repeat = 5
        t = time.process_time()
        for _ in range(repeat):
            for job, outputs in items:
                to_document(corpus, job, outputs)
        base = (time.process_time() - t) / (repeat * len(items))
        t = time.process_time()
        for _ in range(repeat):
            for item in items:
                estimator.kept_tokens([item])
        per = (time.process_time() - t) / (repeat * len(items))
        sampled = per / SAMPLE_EVERY + base
        print(f"finished jobs: {len(items)}, {repeat} passes, CPU time")
        print(f"to_document (baseline)        {base * 1e3:7.2f} ms/job")
        print(f"kept_tokens (filters)         {per * 1e3:7.2f} ms/job = {per / base:.1f}x baseline")
        print(
            f"after {SAMPLE_AFTER} jobs of a genre, 1 in {SAMPLE_EVERY} filtered: "
            f"~{sampled * 1e3:.2f} ms/job"
        )
        store.close()


if __name__ == "__main__":
    main_()
