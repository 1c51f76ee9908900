"""Pacing to rate-limit headers: throughput and 429s against a hard limit.

The fake provider (tests/fakeprovider) enforces LIMIT requests per WINDOW
seconds as a token bucket and sends Anthropic- or OpenAI-style rate-limit
headers. The executor (real SDK, 16 workers, no limits configured) drives it for
ROUNDS windows, once pacing to the headers and once without (the same-run
baseline). After a two-window warm-up it reports successful requests per second
as a share of the limit and the 429s received.

    .venv/bin/python benchmarks/bench_pacing.py [--limit 30] [--window 3] [--windows 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from fakeprovider.limits import RateLimit  # noqa: E402
from fakeprovider.server import FakeProvider  # noqa: E402
from sdf_corpus.generate.backends import make_backend  # noqa: E402
from sdf_corpus.generate.executor import CostGuard, Executor  # noqa: E402
from sdf_corpus.sampling import Request  # noqa: E402
from sdf_corpus.spec.models import BackendSpec  # noqa: E402
from sdf_corpus.store import Store  # noqa: E402

MODELS = {"anthropic": "claude-haiku-4-5", "litellm": "openai/fake-model"}


async def drive(kind: str, url: str, folder: Path, seconds: float, pace: bool) -> None:
    spec = BackendSpec(
        provider=kind,  # type: ignore[arg-type]
        model=MODELS[kind],
        api_base=url,
        concurrency=16,
        max_attempts=20,
        retry_base_delay=0.05,
        retry_max_delay=0.5,
        pace_to_headers=pace,
    )
    backend = make_backend(kind, MODELS[kind], api_base=url, timeout=10)
    ledger = Store(folder / f"{kind}-{pace}.sqlite")
    executor = Executor(backend, spec, ledger, CostGuard(None, 0.0, None))
    deadline = time.monotonic() + seconds

    async def worker(n: int) -> None:
        i = 0
        while time.monotonic() < deadline:
            i += 1
            await executor.call(f"{n}-{i}", "draft", Request(prompt=f"{n} {i}", max_tokens=40))

    try:
        await asyncio.gather(*(worker(n) for n in range(16)))
    finally:
        await backend.aclose()
        ledger.close()


def measure(kind: str, limit: int, window: float, windows: int, pace: bool) -> str:
    provider = FakeProvider(latency=0.05).start()
    provider.record_bodies = False
    provider.limit = bucket = RateLimit(limit, window=window)
    url = provider.url if kind == "anthropic" else provider.openai_base
    seconds = windows * window
    with tempfile.TemporaryDirectory() as tmp:
        start = time.time()
        asyncio.run(drive(kind, url, Path(tmp), seconds, pace))
    provider.stop()
    since, until = start + 2 * window, start + seconds - 0.5
    ok, limited = bucket.count(200, since, until), bucket.count(429, since, until)
    rate = ok / (until - since)
    return (
        f"{kind:<9} {'paced' if pace else 'unpaced':<8} {rate:6.2f} req/s = "
        f"{rate / (limit / window):.3f} of the limit; 429s after warm-up {limited} "
        f"({limited / max(1, ok + limited):.1%} of answers)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=30)
    parser.add_argument("--window", type=float, default=3.0)
    parser.add_argument("--windows", type=int, default=8)
    args = parser.parse_args()
    os.environ.setdefault("ANTHROPIC_API_KEY", "sk-ant-bench-DUMMY-KEY-0123456789")
    print(f"limit {args.limit} requests per {args.window:g} s window, 16 workers, 50 ms latency")
    for kind in ("anthropic", "litellm"):
        for pace in (True, False):
            print(measure(kind, args.limit, args.window, args.windows, pace), flush=True)


if __name__ == "__main__":
    main()
