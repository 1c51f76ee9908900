"""Pacing to the provider's rate-limit headers, through the real SDKs against the fake
provider with a hard limit: with no limits configured, 429s fall to near zero after
the first window while throughput holds at least 0.9 of the limit.

The fake's limit window is scaled from a minute to WINDOW seconds, so the test
watches several windows in well under a minute per provider; "after the first
minute" becomes "after the first two windows".
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from fakeprovider.limits import RateLimit
from fakeprovider.server import FakeProvider
from sdf_corpus.generate.backends import make_backend
from sdf_corpus.generate.executor import CostGuard, Executor
from sdf_corpus.generate.pacing import parse_rate_headers
from sdf_corpus.sampling import Request
from sdf_corpus.spec.models import BackendSpec
from sdf_corpus.store import Store

from .conftest import DUMMY_KEY

LIMIT, WINDOW = 30, 3.0  # 10 requests a second
WARMUP = 2 * WINDOW


async def _drive(executor: Executor, seconds: float, workers: int = 16) -> None:
    deadline = time.monotonic() + seconds

    async def worker(n: int) -> None:
        i = 0
        while time.monotonic() < deadline:
            i += 1
            request = Request(prompt=f"worker {n} request {i}", max_tokens=40)
            await executor.call(f"w{n}-{i}", "draft", request)

    await asyncio.gather(*(worker(n) for n in range(workers)))


def _run(provider: FakeProvider, kind: str, tmp_path: Path, seconds: float, pace: bool) -> float:
    """Drive the executor for `seconds`; returns the wall-clock start."""
    base = provider.url if kind == "anthropic" else provider.openai_base
    model = "claude-haiku-4-5" if kind == "anthropic" else "openai/fake-model"
    spec = BackendSpec(
        provider=kind,  # type: ignore[arg-type]
        model=model,
        api_base=base,
        concurrency=16,
        max_attempts=20,
        retry_base_delay=0.05,
        retry_max_delay=0.5,
        pace_to_headers=pace,
    )

    async def go() -> None:
        backend = make_backend(kind, model, api_base=base, timeout=10)
        ledger = Store(tmp_path / f"{kind}-{pace}.sqlite")
        try:
            await _drive(Executor(backend, spec, ledger, CostGuard(None, 0.0, None)), seconds)
        finally:
            await backend.aclose()
            ledger.close()

    start = time.time()
    asyncio.run(go())
    return start


@pytest.mark.parametrize("kind", ["anthropic", "litellm"])
def test_pacing_settles_just_under_the_providers_limit(
    fake_provider: FakeProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", DUMMY_KEY)
    fake_provider.latency = 0.05
    fake_provider.limit = limit = RateLimit(LIMIT, window=WINDOW)
    seconds = 8 * WINDOW
    start = _run(fake_provider, kind, tmp_path, seconds, pace=True)
    since, until = start + WARMUP, start + seconds - 0.5
    ok, limited = limit.count(200, since, until), limit.count(429, since, until)
    rate = ok / (until - since)
    assert limited <= max(2, 0.02 * ok), (ok, limited)
    assert rate >= 0.9 * LIMIT / WINDOW, (rate, ok, limited)


def test_without_pacing_the_same_load_lives_on_429s(
    fake_provider: FakeProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The measurement above can fail: the same drive without pacing is throttled."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", DUMMY_KEY)
    fake_provider.latency = 0.05
    fake_provider.limit = limit = RateLimit(LIMIT, window=WINDOW)
    start = _run(fake_provider, "anthropic", tmp_path, 3 * WINDOW, pace=False)
    assert limit.count(429, start + WINDOW) > limit.count(200, start + WINDOW) / 10


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            {
                "anthropic-ratelimit-requests-limit": "50",
                "anthropic-ratelimit-requests-remaining": "20",
                "anthropic-ratelimit-requests-reset": "2999-01-01T00:00:00Z",
            },
            {"requests": (50.0, 20.0)},
        ),
        (
            {
                "x-ratelimit-limit-tokens": "90000",
                "x-ratelimit-remaining-tokens": "89000",
                "x-ratelimit-reset-tokens": "6m0.5s",
            },
            {"tokens": (90000.0, 89000.0)},
        ),
        (
            {
                "llm_provider-x-ratelimit-limit-requests": "5",
                "llm_provider-x-ratelimit-remaining-requests": "1",
            },
            {"requests": (5.0, 1.0)},
        ),
        ({"x-ratelimit-limit-requests": "many"}, {}),
    ],
)
def test_rate_headers_of_both_dialects_parse(
    headers: dict[str, str], expected: dict[str, tuple[float, float]]
) -> None:
    parsed = parse_rate_headers(headers)
    assert {k: (v.limit, v.remaining) for k, v in parsed.items()} == expected
    if "x-ratelimit-reset-tokens" in headers:
        assert parsed["tokens"].reset == pytest.approx(360.5)
