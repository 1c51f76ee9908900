"""The circuit breaker, through the real anthropic and litellm SDKs against the fake
provider: a wrong model id, a bad key and a refused connection stop the run with
exit 5 and one line naming the provider, the URL, what it said and the fix."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from fakeprovider.server import FakeProvider
from sdf_corpus.cli import main
from sdf_corpus.errors import PermanentError, ProviderStoppedError, RetryableError
from sdf_corpus.generate.breaker import CircuitBreaker

from .conftest import ledger_rows

FAST_POLL = {"poll_initial": 0.02, "poll_max": 0.1}


def _build(spec: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["build", str(spec), "--no-progress", *args])
    return result.exit_code, result.stdout, result.stderr


def _error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr
    return lines[0]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("provider", ["anthropic", "litellm"])
def test_wrong_model_stops_after_threshold_requests(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider, provider: str
) -> None:
    fake_provider.models = {"claude-haiku-4-5", "openai/fake-model", "fake-model"}
    model = "claude-haiku-4-5-typo" if provider == "anthropic" else "openai/fake-modle"
    spec = fake_spec(provider, backend={"model": model, "concurrency": 2, "breaker_threshold": 3})
    code, _, stderr = _build(spec)
    assert code == 5, stderr
    line = _error_line(stderr)
    assert "404" in line and "backend.model" in line and fake_provider.url in line
    assert "anthropic" in line if provider == "anthropic" else "litellm" in line
    # three refusals in a row (plus at most one more already in flight), not one per job
    assert fake_provider.count <= 4
    run = spec.parent / "run"
    # the jobs are not failed for the provider's reason: fixing the model continues them
    assert ledger_rows(run, "SELECT COUNT(*) FROM jobs WHERE status='failed'") == [(0,)]
    assert not (run / "manifest.json").exists()


@pytest.mark.parametrize("provider", ["anthropic", "litellm"])
def test_bad_key_stops_naming_the_key(
    fake_spec: Callable[..., Path],
    fake_provider: FakeProvider,
    monkeypatch: pytest.MonkeyPatch,
    provider: str,
) -> None:
    fake_provider.api_keys = {"sk-the-right-key-000000"}
    monkeypatch.setenv("OPENAI_API_KEY", "sk-a-wrong-key-1111111")
    spec = fake_spec(provider, backend={"breaker_threshold": 2})
    code, _, stderr = _build(spec)
    assert code == 5, stderr
    line = _error_line(stderr)
    assert "401" in line
    assert ("ANTHROPIC_API_KEY" if provider == "anthropic" else "OPENAI_API_KEY") in line
    assert "sk-a-wrong-key" not in stderr and "DUMMY-KEY" not in stderr
    assert fake_provider.count <= 2 + 3  # threshold, plus what was already in flight


@pytest.mark.parametrize("provider", ["anthropic", "litellm"])
def test_refused_connection_fails_fast_naming_the_url(
    fake_spec: Callable[..., Path], provider: str
) -> None:
    port = _closed_port()
    url = f"http://127.0.0.1:{port}" + ("/v1" if provider == "litellm" else "")
    # Long backoff, many attempts: the breaker's grace decides, not exhausted retries.
    backend = {
        "api_base": url,
        "max_attempts": 50,
        "retry_base_delay": 0.3,
        "retry_max_delay": 0.5,
        "connect_grace": 2.0,
    }
    spec = fake_spec(provider, backend=backend)
    started = time.monotonic()
    code, _, stderr = _build(spec)
    elapsed = time.monotonic() - started
    assert code == 5, stderr
    line = _error_line(stderr)
    assert f"127.0.0.1:{port}" in line and "cannot reach" in line and "api_base" in line
    assert elapsed < 15


def test_refused_connection_with_few_attempts_stops_at_once(fake_spec: Callable[..., Path]) -> None:
    spec = fake_spec(backend={"api_base": f"http://127.0.0.1:{_closed_port()}", "max_attempts": 2})
    code, stdout, stderr = _build(spec)
    assert code == 5, stderr
    assert "cannot reach anthropic" in _error_line(stderr)
    assert "top-up" not in stdout


def test_judge_with_a_wrong_model_stops_and_keeps_the_corpus(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    fake_provider.models = {"claude-haiku-4-5"}
    spec = fake_spec(judge={"enabled": True, "model": "claude-sonnet-typo"})
    code, _, stderr = _build(spec)
    assert code == 5, stderr
    assert "judge.model" in _error_line(stderr)
    run = spec.parent / "run"
    assert ledger_rows(run, "SELECT COUNT(*) FROM jobs WHERE status='done'")[0][0] > 0
    assert (run / "manifest.json").is_file()  # the cleaned corpus was committed first


def test_batch_with_a_wrong_model_stops(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    fake_provider.models = {"claude-haiku-4-5"}
    # pool off: the batch path itself must meet the refusal (the pool would stop first)
    spec = fake_spec(
        backend={"model": "claude-haiku-4-5-typo", "batch": FAST_POLL}, ideas={"pool": False}
    )
    code, _, stderr = _build(spec, "--batch")
    assert code == 5, stderr
    assert "not_found_error" in _error_line(stderr) and "backend.model" in stderr
    assert len(fake_provider.batches.created) == 1  # no second batch after the refusals


def test_batch_with_a_bad_key_stops_at_create(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    fake_provider.api_keys = {"sk-the-right-key-000000"}
    spec = fake_spec(backend={"batch": FAST_POLL})
    code, _, stderr = _build(spec, "--batch")
    assert code == 5, stderr
    assert "ANTHROPIC_API_KEY" in _error_line(stderr)
    assert fake_provider.batches.created == []


def _refusal(status: int) -> PermanentError:
    return PermanentError(f"anthropic {status} error: refused", status=status)


def test_breaker_counts_only_unbroken_runs_of_one_refusal() -> None:
    breaker = CircuitBreaker(3, provider="anthropic", endpoint="http://x")
    breaker.failure(_refusal(404))
    breaker.failure(_refusal(404))
    breaker.success()  # a success in between starts the count again
    breaker.failure(_refusal(404))
    breaker.failure(_refusal(401))  # another class starts its own count
    breaker.failure(_refusal(401))
    breaker.failure(RetryableError("anthropic 529 overloaded", status=529))  # transient: ignored
    with pytest.raises(ProviderStoppedError, match="ANTHROPIC_API_KEY"):
        breaker.failure(_refusal(401))
    with pytest.raises(ProviderStoppedError):
        breaker.check()  # nothing more goes out


def test_connection_errors_after_a_success_are_ridden_out() -> None:
    now = [0.0]
    breaker = CircuitBreaker(3, provider="anthropic", endpoint="http://x", clock=lambda: now[0])
    breaker.success()
    for _ in range(10):
        now[0] += 100
        lost = RetryableError("anthropic connection failed", connection=True)
        breaker.failure(lost)
        breaker.gave_up(lost)
    breaker.check()


@pytest.mark.parametrize(
    ("kind", "setting"), [("404", "backend.model"), ("402", "credit"), ("403", "access")]
)
def test_injected_account_refusals_trip_the_breaker(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider, kind: str, setting: str
) -> None:
    fake_provider.inject(kind, count=1000)
    spec = fake_spec("litellm", backend={"concurrency": 1})
    code, _, stderr = _build(spec)
    assert code == 5, stderr
    assert setting in _error_line(stderr)
    assert fake_provider.count == 3  # the default threshold, one request at a time
