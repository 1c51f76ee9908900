"""`generate --batch` through the real SDK against the fake Message Batches API."""

from __future__ import annotations

import functools
import hashlib
import json
import random
import re
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fakeprovider.server import FakeProvider
from fakeprovider.text import prose
from killing import kill_when, start_cli
from sdf_corpus.cli import main
from sdf_corpus.errors import AmbiguousCreateError
from sdf_corpus.generate.backends.anthropic_batches import BatchClient
from sdf_corpus.generate.batch import custom_id
from sdf_corpus.pricing.estimate import estimate_cost
from sdf_corpus.pricing.prices import cost_usd, lookup_price
from sdf_corpus.spec.load import load_corpus
from sdf_corpus.store import BatchBook

from .conftest import DUMMY_KEY, ledger_rows
from .test_generate import _assert_done_once, _planned_requests


@pytest.fixture
def fake_spec(fake_spec: Callable[..., Path]) -> Callable[..., Path]:
    """Each job its own stages: these tests count and break per-job stage requests; the
    idea pool's own behaviour under the same faults is tested in tests/ideas."""
    return functools.partial(fake_spec, ideas={"pool": False})


FAST_POLL = {"poll_initial": 0.02, "poll_max": 0.1}


def _batch_spec(fake_spec: Callable[..., Path], **batch: Any) -> Path:
    return fake_spec(backend={"batch": {**FAST_POLL, **batch}})


def _generate(spec: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["generate", str(spec), "--no-progress", "--batch", *args])
    return result.exit_code, result.stderr


def _tag(prompt: str) -> str:
    return hashlib.sha256(prompt.encode()).hexdigest()[:12]


def _tagging(prompt: str, body: dict[str, Any]) -> str:
    """Every answer names the prompt it answers, so a mis-mapped result shows."""
    lowered = prompt.lower()
    if "numbered list" in lowered:
        return "\n".join(
            f"{i}. Idea {i} for {_tag(prompt)}: a plain situation." for i in range(1, 6)
        )
    return f"TAG-{_tag(prompt)}\n\n" + prose(prompt, 120)


def _user_text(params: dict[str, Any]) -> str:
    return "\n".join(
        block["text"] for m in params["messages"] if m["role"] == "user" for block in m["content"]
    )


def _submitted(fake: FakeProvider) -> list[str]:
    return [cid for batch in fake.batches.created for cid in batch["custom_ids"]]


def _assert_all_done_once(spec: Path, fake: FakeProvider) -> None:
    _assert_done_once(spec, _submitted(fake))


@pytest.mark.parametrize("limits", [{"max_requests": 3}, {"max_bytes": 70_000}])
def test_batches_chunked_and_shuffled_map_by_custom_id(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider, limits: dict[str, int]
) -> None:
    fake_provider.responder = _tagging
    spec = _batch_spec(fake_spec, **limits)
    code, err = _generate(spec)
    assert code == 0, err
    _assert_all_done_once(spec, fake_provider)
    created = fake_provider.batches.created
    assert len(created) > 3, "several batches per stage"
    for batch in created:
        assert len(batch["custom_ids"]) <= limits.get("max_requests", 100_000)
        assert batch["bytes"] <= limits.get("max_bytes", 256_000_000)
    # each stored output answers the very request its custom id was sent with
    run = spec.parent / "run"
    owner = {
        cid: (job, stage)
        for cid, job, stage in ledger_rows(
            run, "SELECT custom_id, job_id, stage FROM batch_requests"
        )
    }
    texts = {(j, s): t for j, s, t in ledger_rows(run, "SELECT job_id, stage, text FROM outputs")}
    for batch in created:
        for entry in batch["entries"]:
            text = texts[owner[entry["custom_id"]]]
            assert _tag(_user_text(entry["params"])) in text


def test_batch_requests_carry_the_cached_prefix_and_cost_at_the_discount(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    spec = _batch_spec(fake_spec)
    code, err = _generate(spec)
    assert code == 0, err
    entries = [e for b in fake_provider.batches.created for e in b["entries"]]
    for entry in entries:
        first = entry["params"]["system"][0]
        assert first["cache_control"] == {"type": "ephemeral"}
        assert "<constitution>" in first["text"]
    assert any("temperature" in e["params"] for e in entries), "sampling params reach the batch"
    price = lookup_price("claude-haiku-4-5")
    assert price is not None
    rows = ledger_rows(
        spec.parent / "run",
        "SELECT input_tokens, output_tokens, "
        "cache_read_tokens, cache_write_tokens, cost_usd FROM outputs",
    )
    assert sum(r[2] for r in rows) > 0 and sum(r[3] for r in rows) > 0
    for inp, out, read, write, cost in rows:
        assert cost == pytest.approx(cost_usd(price, inp, out, read, write, batch=True))
        assert cost == pytest.approx(cost_usd(price, inp, out, read, write) / 2)


def test_errored_and_expired_results_are_retried_in_a_later_batch(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    spec = _batch_spec(fake_spec)
    fake_provider.batches.inject_result("expired")
    fake_provider.batches.inject_result("errored", error_type="overloaded_error")
    fake_provider.batches.inject_result("canceled")
    code, err = _generate(spec)
    assert code == 0, err
    _assert_all_done_once(spec, fake_provider)
    run = spec.parent / "run"
    retried = ledger_rows(run, "SELECT custom_id FROM batch_requests WHERE attempt=2")
    assert len(retried) == 3
    assert ledger_rows(run, "SELECT COUNT(*) FROM attempts WHERE outcome='retry'")[0][0] == 3


def test_a_batch_the_api_no_longer_knows_is_sent_again(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    """A batch that answers 404 when polled (deleted or lost on the provider's side) is
    recorded as lost and its requests go out in a later batch: nothing is left undone,
    nothing is answered twice."""
    spec = _batch_spec(fake_spec)
    fake_provider.batches.forget_next = 1
    code, err = _generate(spec)
    assert code == 0, err
    _assert_all_done_once(spec, fake_provider)
    run = spec.parent / "run"
    assert ledger_rows(run, "SELECT COUNT(*) FROM batches WHERE status='orphaned'") == [(1,)]
    lost = ledger_rows(run, "SELECT COUNT(*) FROM batch_requests WHERE result='lost'")[0][0]
    assert lost == len(fake_provider.batches.created[0]["custom_ids"]) > 0


def test_whole_batch_expiry_is_retried(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    spec = _batch_spec(fake_spec)
    fake_provider.batches.expire_next = 1
    code, err = _generate(spec)
    assert code == 0, err
    _assert_all_done_once(spec, fake_provider)
    results = ledger_rows(
        spec.parent / "run",
        "SELECT result, COUNT(*) FROM batch_requests GROUP BY result ORDER BY result",
    )
    jobs, planned = _planned_requests(spec)
    assert results == [("expired", jobs), ("succeeded", planned)]


def test_invalid_request_fails_the_job_and_exhausted_attempts_fail_it(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    spec = fake_spec(backend={"max_attempts": 2, "batch": FAST_POLL})
    corpus = load_corpus(spec)
    from sdf_corpus.plan.planner import budget_allocation, iter_jobs

    jobs = list(iter_jobs(corpus, budget_allocation(corpus).jobs))
    first, second = jobs[0].id, jobs[1].id
    fake_provider.batches.inject_result(
        "errored",
        error_type="invalid_request_error",
        message="prompt is too long",
        custom_id=custom_id(first, "idea", 1),
    )
    for attempt in (1, 2):
        fake_provider.batches.inject_result("expired", custom_id=custom_id(second, "idea", attempt))
    code, err = _generate(spec)
    assert code == 0, err
    run = spec.parent / "run"
    failed = dict(ledger_rows(run, "SELECT id, error FROM jobs WHERE status='failed'"))
    assert set(failed) == {first, second}
    assert "prompt is too long" in failed[first]
    assert "expired" in failed[second]
    assert (
        ledger_rows(spec.parent / "run", "SELECT COUNT(*) FROM jobs WHERE status='done'")[0][0]
        == len(jobs) - 2
    )


def test_max_cost_is_never_crossed_by_a_submitted_batch(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    spec = _batch_spec(fake_spec, max_requests=4)
    code, err = _generate(spec, "--max-cost", "0.025")
    assert code == 3, err
    run = spec.parent / "run"
    worst = [w for (w,) in ledger_rows(run, "SELECT worst_cost_usd FROM batches ORDER BY seq")]
    spent = ledger_rows(run, "SELECT SUM(cost_usd) FROM attempts")[0][0]
    assert 0 < spent <= 0.025
    assert worst and worst[0] <= 0.025 and max(worst) <= 0.025
    assert ledger_rows(run, "SELECT COUNT(*) FROM jobs WHERE status='pending'")[0][0] > 0


def test_crash_between_create_and_commit_adopts_the_batch(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _batch_spec(fake_spec)
    real_attach = BatchBook.attach

    def crash(self: BatchBook, seq: int, batch_id: str) -> None:
        monkeypatch.setattr(BatchBook, "attach", real_attach)
        raise KeyboardInterrupt  # the process dies right after create returned

    monkeypatch.setattr(BatchBook, "attach", crash)
    code, _ = _generate(spec)
    assert code == 130
    assert fake_provider.batches.count == 1
    code, err = _generate(spec)
    assert code == 0, err
    _assert_all_done_once(spec, fake_provider)
    first = fake_provider.batches.created[0]["id"]
    status = ledger_rows(spec.parent / "run", f"SELECT status FROM batches WHERE id='{first}'")
    assert status == [("collected",)]


def test_crash_while_reading_results_never_commits_a_result_twice(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sdf_corpus.store import Store

    spec = _batch_spec(fake_spec)
    real = Store.record_stage
    calls = {"n": 0}

    def dies_third(self: Store, *args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        real(self, *args, **kwargs)

    monkeypatch.setattr(Store, "record_stage", dies_third)
    code, _ = _generate(spec)
    assert code == 130
    monkeypatch.setattr(Store, "record_stage", real)
    code, err = _generate(spec)
    assert code == 0, err
    _assert_all_done_once(spec, fake_provider)
    _, planned = _planned_requests(spec)
    run = spec.parent / "run"
    assert ledger_rows(run, "SELECT COUNT(*) FROM attempts WHERE outcome='ok'")[0][0] == planned


def test_create_without_answer_is_resubmitted_only_when_no_batch_exists(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _batch_spec(fake_spec)
    real_create = BatchClient.create

    async def lost(self: BatchClient, entries: Any, token: str = "") -> Any:
        monkeypatch.setattr(BatchClient, "create", real_create)
        raise AmbiguousCreateError("anthropic request timed out")  # and nothing was created

    monkeypatch.setattr(BatchClient, "create", lost)
    code, err = _generate(spec)
    assert code == 4 and "re-run" in err
    code, err = _generate(spec)
    assert code == 0, err
    _assert_all_done_once(spec, fake_provider)
    lost_rows = ledger_rows(
        spec.parent / "run", "SELECT COUNT(*) FROM batch_requests WHERE result='lost'"
    )[0][0]
    assert lost_rows > 0


def _start(spec: Path) -> subprocess.Popen[bytes]:
    keys = {"ANTHROPIC_API_KEY": DUMMY_KEY}
    return start_cli("generate", str(spec), "--batch", "--no-progress", env=keys)


@pytest.mark.parametrize("seed", [1, 2])
def test_sigkill_after_a_batch_is_created_then_resume_submits_nothing_twice(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider, seed: int
) -> None:
    fake_provider.batches.delay = 0.4
    spec = _batch_spec(fake_spec, max_requests=3)
    rng = random.Random(seed)
    proc = _start(spec)
    pause = rng.uniform(0.0, 0.05)
    killed = kill_when(
        proc, lambda: fake_provider.batches.count > 0, within=60, pause=pause, poll=0.005
    )
    assert killed, proc.communicate()[1].decode()
    before = fake_provider.batches.count
    assert before >= 1
    fake_provider.batches.delay = 0.05
    final = _start(spec)
    _, err = final.communicate(timeout=300)
    assert final.returncode == 0, err.decode()
    _assert_all_done_once(spec, fake_provider)
    # every (job, stage) went out exactly once: no retries were needed
    pairs = Counter(re.sub(r"-\d+$", "", cid) for cid in _submitted(fake_provider))
    assert max(pairs.values()) == 1
    assert sum(pairs.values()) == _planned_requests(spec)[1]


def realistic(prompt: str, body: dict[str, Any]) -> str:
    """Lengths a model following the genre prompts would write: documents near the
    asked word count (+-15%), idea lists of five 2-4 sentence items."""
    rng = random.Random(_tag(prompt))
    words = re.search(r"(?:About|roughly) (\d+) words", prompt)
    if "numbered list" in prompt.lower():
        return "\n".join(
            f"{i}. "
            + prose(f"{prompt}{i}", rng.randint(40, 80)).replace("\n\n", " ")[
                : rng.randint(250, 420)
            ]
            for i in range(1, 6)
        )
    if words:
        chars = int(int(words[1]) / 0.75 * 4 * rng.uniform(0.85, 1.15))
    else:
        chars = int(body["max_tokens"] * 4 * rng.uniform(0.3, 0.7))
    return prose(prompt, chars // 4)[:chars]


@pytest.mark.parametrize("batch", [True, False])
def test_ledger_cost_matches_the_plan_estimate_within_its_spread(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider, batch: bool
) -> None:
    fake_provider.responder = realistic
    spec = fake_spec(backend={"batch": FAST_POLL}, budget={"tokens": 12000, "max_rounds": 1})
    estimate = estimate_cost(load_corpus(spec))
    args = ["generate", str(spec), "--no-progress"] + (["--batch"] if batch else [])
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.stderr
    run = spec.parent / "run"
    actual = ledger_rows(run, "SELECT SUM(cost_usd) FROM attempts")[0][0]
    expected = estimate.total("batch_cost_usd" if batch else "cost_usd")
    assert expected is not None
    ratio = actual / expected
    print(f"\nbatch={batch}: actual ${actual:.4f} vs estimate ${expected:.4f} ratio {ratio:.3f}")
    for key in ("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens"):
        got = ledger_rows(run, f"SELECT SUM({key}) FROM outputs")[0][0]
        print(json.dumps({key: {"actual": got, "estimate": round(estimate.total(key) or 0)}}))
    assert abs(ratio - 1) <= estimate.spread


def test_build_batch_runs_end_to_end_and_a_rerun_spends_nothing(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    spec = _batch_spec(fake_spec)
    result = CliRunner().invoke(main, ["build", str(spec), "--no-progress", "--batch"])
    # one round (max_rounds 1) may end short of the budget: exit 6, saying why
    assert result.exit_code in (0, 6), result.stderr
    first = result.exit_code
    # The closed budget loop sends what the budget needs (waves included), each stage once.
    run = spec.parent / "run"
    assert ("failed",) not in ledger_rows(run, "SELECT DISTINCT status FROM jobs")
    total, distinct = ledger_rows(
        run, "SELECT COUNT(*), COUNT(DISTINCT job_id||'/'||stage) FROM outputs"
    )[0]
    assert total == distinct > 0
    submitted = _submitted(fake_provider)
    assert len(submitted) == len(set(submitted)), "a custom_id was submitted twice"
    assert '"requests"' in result.stdout
    before = fake_provider.batches.count
    result = CliRunner().invoke(main, ["build", str(spec), "--no-progress", "--batch"])
    assert result.exit_code == first, result.stderr
    assert fake_provider.batches.count == before


def test_batch_needs_a_provider_with_a_batch_api(fake_spec: Callable[..., Path]) -> None:
    code, err = _generate(fake_spec("litellm", backend={"model": "ollama/llama3"}))
    assert code == 2 and "--batch cannot send litellm 'ollama/llama3'" in err
