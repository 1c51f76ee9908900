"""`sdf-corpus generate` through the real SDKs against the loopback fake provider."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from fakeprovider.server import FakeProvider
from sdf_corpus.chain import stages_for
from sdf_corpus.cli import main
from sdf_corpus.spec.load import load_corpus

from .conftest import DUMMY_KEY, ledger_rows


@pytest.fixture
def fake_spec(fake_spec: Callable[..., Path]) -> Callable[..., Path]:
    """Each job its own stages: these tests count and break per-job stage requests; the
    idea pool's own behaviour under the same faults is tested in tests/ideas."""
    return functools.partial(fake_spec, ideas={"pool": False})


def _planned_requests(spec: Path) -> tuple[int, int]:
    from sdf_corpus.plan.planner import allocate

    corpus = load_corpus(spec)
    counts = allocate(corpus, corpus.spec.budget.tokens).jobs
    per = {g: len(stages_for(corpus.genres[g], corpus.spec.backend.provider)) for g in counts}
    return sum(counts.values()), sum(n * per[g] for g, n in counts.items())


def _assert_done_once(spec: Path, submitted: list[str]) -> None:
    """Every planned job done and every planned request answered exactly once; no
    custom id among `submitted` (what a batch fake was sent) sent twice."""
    jobs, planned = _planned_requests(spec)
    run = spec.parent / "run"
    assert ledger_rows(run, "SELECT status, COUNT(*) FROM jobs GROUP BY status") == [("done", jobs)]
    total, distinct = ledger_rows(
        run, "SELECT COUNT(*), COUNT(DISTINCT job_id||'/'||stage) FROM outputs"
    )[0]
    assert total == distinct == planned
    assert len(submitted) == len(set(submitted)), "a custom_id was submitted twice"


def _generate(spec: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["generate", str(spec), "--no-progress", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("provider", ["anthropic", "litellm"])
def test_generate_completes_under_faults_and_pays_once(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider, provider: str
) -> None:
    spec = fake_spec(provider)
    jobs, planned = _planned_requests(spec)
    for kind, options in [
        ("429", {"retry_after": 0.05}),
        ("529", {}),
        ("500", {}),
        ("malformed", {}),
        ("slow", {"seconds": 3.0}),
    ]:
        fake_provider.inject(kind, **options)
    code, _, err = _generate(spec)
    assert code == 0, err
    run = spec.parent / "run"
    assert ledger_rows(run, "SELECT status, COUNT(*) FROM jobs GROUP BY status") == [("done", jobs)]
    outputs = ledger_rows(run, "SELECT COUNT(*), COUNT(DISTINCT job_id || stage) FROM outputs")[0]
    assert outputs == (planned, planned)
    retries = ledger_rows(run, "SELECT COUNT(*) FROM attempts WHERE outcome='retry'")[0][0]
    assert retries == 5
    assert fake_provider.count == planned + 5  # each fault cost one request, nothing twice
    # a second run finds nothing to do and spends nothing
    code, _out, err = _generate(spec)
    assert code == 0, err
    assert fake_provider.count == planned + 5


def test_api_key_never_stored(fake_spec: Callable[..., Path], fake_provider: FakeProvider) -> None:
    spec = fake_spec()
    fake_provider.inject("400", message="bad request for testing")
    code, _, err = _generate(spec)
    assert code == 0, err
    run = spec.parent / "run"
    for path in run.rglob("*"):
        if path.is_file():
            assert DUMMY_KEY.encode() not in path.read_bytes(), path
    assert DUMMY_KEY not in err


def test_request_error_fails_job_at_once_and_retry_failed_retries_it(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    spec = fake_spec()
    jobs, planned = _planned_requests(spec)
    fake_provider.inject("400", message="messages: text content blocks must be non-empty")
    code, _, err = _generate(spec)
    assert code == 0, err
    run = spec.parent / "run"
    failed = ledger_rows(run, "SELECT error FROM jobs WHERE status='failed'")
    assert len(failed) == 1
    assert "text content blocks must be non-empty" in failed[0][0]
    assert ledger_rows(run, "SELECT COUNT(*) FROM attempts WHERE status=400")[0][0] == 1
    before = fake_provider.count
    code, _, err = _generate(spec)  # without --retry-failed nothing happens
    assert fake_provider.count == before
    code, _, err = _generate(spec, "--retry-failed")
    assert code == 0, err
    assert ledger_rows(run, "SELECT COUNT(*) FROM jobs WHERE status='done'")[0][0] == jobs
    assert fake_provider.count == planned + 1


def test_retries_exhausted_fail_the_job(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    spec = fake_spec(backend={"max_attempts": 2, "concurrency": 1})
    fake_provider.inject("500", count=2)
    code, _, err = _generate(spec)
    assert code == 0, err
    run = spec.parent / "run"
    rows = ledger_rows(run, "SELECT error FROM jobs WHERE status='failed'")
    assert len(rows) == 1 and "retryable provider error" in rows[0][0]


def test_missing_key_stops_before_any_request(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = fake_spec()
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    code, _, err = _generate(spec)
    assert code == 2
    assert "ANTHROPIC_API_KEY" in err and err.count("\n") == 1
    assert fake_provider.count == 0


def test_max_cost_stops_before_crossing(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    spec = fake_spec(backend={"concurrency": 2})
    code, _, err = _generate(spec, "--max-cost", "0.08")
    assert code == 3, err
    assert "--max-cost" in err
    run = spec.parent / "run"
    spent = ledger_rows(run, "SELECT SUM(cost_usd) FROM attempts")[0][0]
    assert 0 < spent <= 0.08
    assert ledger_rows(run, "SELECT COUNT(*) FROM jobs WHERE status='pending'")[0][0] > 0


def test_truncated_response_is_recorded(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    spec = fake_spec(backend={"concurrency": 1})
    fake_provider.inject("truncate")
    code, _, err = _generate(spec)
    assert code == 0, err
    rows = ledger_rows(
        spec.parent / "run", "SELECT COUNT(*) FROM outputs WHERE stop_reason='max_tokens'"
    )
    assert rows[0][0] == 1


def test_injection_is_sent_but_never_stored(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    spec = fake_spec(backend={"concurrency": 1})
    code, _, err = _generate(spec)
    assert code == 0, err
    corpus = load_corpus(spec)
    injections = {
        s.system_injection.split("\n")[0][:60]
        for g in corpus.genres.values()
        for s in g.stages
        if s.system_injection
    }
    assert injections, "the genres under test carry a system injection"
    sent = " ".join(str(r["body"].get("system", "")) for r in fake_provider.requests)
    assert any(i in sent for i in injections)
    stored = " ".join(t for (t,) in ledger_rows(spec.parent / "run", "SELECT text FROM outputs"))
    assert not any(i in stored for i in injections)


def test_raising_the_budget_generates_only_the_new_jobs(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    spec = fake_spec(budget={"tokens": 4000, "max_rounds": 1})
    small_jobs, small_requests = _planned_requests(spec)
    code, _, err = _generate(spec)
    assert code == 0, err
    assert fake_provider.count == small_requests
    run = spec.parent / "run"
    first = dict(ledger_rows(run, "SELECT job_id || stage, created_at FROM outputs"))
    code, _, err = _generate(spec, "--set", "budget.tokens=9000")
    assert code == 0, err
    big_spec = fake_spec(name="big.yaml", budget={"tokens": 9000, "max_rounds": 1})
    big_jobs, big_requests = _planned_requests(big_spec)
    assert big_jobs > small_jobs
    assert fake_provider.count == big_requests  # the first jobs were not asked for again
    after = dict(ledger_rows(run, "SELECT job_id || stage, created_at FROM outputs"))
    assert all(after[key] == created for key, created in first.items())
    # lowering it again sets the extra jobs aside: nothing is requested or lost
    code, _, err = _generate(spec)
    assert code == 0, err
    assert fake_provider.count == big_requests
    active = ledger_rows(run, "SELECT COUNT(*) FROM jobs WHERE active=1 AND status='done'")
    assert active[0][0] == small_jobs
    assert ledger_rows(run, "SELECT COUNT(*) FROM jobs")[0][0] == big_jobs
