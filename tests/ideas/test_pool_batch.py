"""The idea pool under `--batch`, on both batch APIs of the fake (Anthropic's Message
Batches, and OpenAI-format Files + Batches through litellm): the pool's list requests go
out in batches (none immediate), at the batch price, each once, and keep exactly the ideas
immediate requests keep; errored and expired answers are sent again; `--max-cost` holds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fakeprovider.retold import RetoldLog
from fakeprovider.server import FakeProvider
from runfiles import ledger_rows
from sdf_corpus.cli import main
from sdf_corpus.errors import AmbiguousCreateError
from sdf_corpus.generate.backends.anthropic_batches import BatchClient
from sdf_corpus.generate.backends.openai_batches import LitellmBatchClient
from sdf_corpus.pricing.prices import OPENAI_PRICES, cost_usd, lookup_price
from sdf_corpus.store import IdeaBook

from .retold_run import small_constitution

pytestmark = pytest.mark.slow

DUMMY_KEY = "sk-test-DUMMY-KEY-0123456789"
FAST_POLL = {"poll_initial": 0.02, "poll_max": 0.1}
MODELS = {"anthropic": "claude-haiku-4-5", "litellm": "openai/gpt-5.4-mini"}


@pytest.fixture
def retold(fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> RetoldLog:
    monkeypatch.setenv("OPENAI_API_KEY", DUMMY_KEY)
    return fake_provider.retold(share=0.5)


def _spec(
    fake_spec: Callable[..., Path],
    tmp: Path,
    provider: str,
    ideas: dict[str, Any] | None = None,
    tokens: int = 12000,
    **backend: Any,
) -> Path:
    """One genre, two principles, four briefs a request: several rounds, with re-asks."""
    return fake_spec(
        provider,
        constitution=str(small_constitution(tmp)),
        genres=["blog_post"],
        budget={"tokens": tokens, "max_rounds": 1},
        ideas={"per_request": 4, **(ideas or {})},
        backend={"model": MODELS[provider], "batch": FAST_POLL, **backend},
    )


def _generate(spec: Path, out: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["generate", str(spec), "--out", str(out), "--no-progress", *args]
    )
    return result.exit_code, result.stdout + result.stderr


def _created(fake: FakeProvider, provider: str) -> list[dict[str, Any]]:
    return fake.batches.created if provider == "anthropic" else fake.openai_batches.created


def _pool_sends(fake: FakeProvider, provider: str) -> Counter[str]:
    """How often each pool request went out in a batch (a later attempt's custom id is the
    request's id with "-N" after it)."""
    return Counter(
        "-".join(cid.split("-")[:2])
        for batch in _created(fake, provider)
        for cid in batch["custom_ids"]
        if cid.startswith("pool-")
    )


def _pool_ideas(run: Path) -> list[tuple[Any, ...]]:
    return ledger_rows(
        run, "SELECT request_id, item, job_id, text, verdict FROM pool_ideas ORDER BY 1, 2"
    )


def _pool_costs(run: Path) -> list[tuple[Any, ...]]:
    return ledger_rows(
        run,
        "SELECT input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd "
        "FROM attempts WHERE stage='idea_pool' AND outcome='ok'",
    )


@pytest.mark.parametrize("provider", ["anthropic", "litellm"])
def test_batch_pool_sends_batches_only_at_the_batch_price_and_keeps_the_same_ideas(
    provider: str,
    retold: RetoldLog,
    fake_provider: FakeProvider,
    fake_spec: Callable[..., Path],
    tmp_path: Path,
) -> None:
    # One request of a cell per round: each sees the one before it, as immediate requests do.
    spec = _spec(fake_spec, tmp_path, provider, ideas={"batch_width": 1})
    code, out = _generate(spec, tmp_path / "immediate")
    assert code == 0, out[-2000:]
    immediate = _pool_ideas(tmp_path / "immediate")
    assert any(verdict != "kept" for *_, verdict in immediate)  # re-asks happened
    sent = fake_provider.count

    code, out = _generate(spec, tmp_path / "batch", "--batch")
    assert code == 0, out[-2000:]
    run = tmp_path / "batch"
    assert fake_provider.count == sent  # nothing immediate: the pool went out in batches
    committed = {r for (r,) in ledger_rows(run, "SELECT id FROM pool_requests")}
    sends = _pool_sends(fake_provider, provider)
    assert set(sends) == committed and set(sends.values()) == {1}
    assert _pool_ideas(run) == immediate  # the same requests, answers and verdicts
    price = lookup_price(MODELS[provider].removeprefix("openai/"), OPENAI_PRICES) or lookup_price(
        MODELS[provider]
    )
    assert price is not None
    for inp, out_tokens, read, write, cost in _pool_costs(run):
        assert cost > 0
        assert cost == pytest.approx(cost_usd(price, inp, out_tokens, read, write, batch=True))
    if provider == "litellm":
        assert fake_provider.openai_batches.files == {}  # every batch file deleted once read


def test_errored_and_expired_pool_requests_are_sent_again(
    retold: RetoldLog,
    fake_provider: FakeProvider,
    fake_spec: Callable[..., Path],
    tmp_path: Path,
) -> None:
    spec = _spec(fake_spec, tmp_path, "anthropic")
    code, out = _generate(spec, tmp_path / "clean", "--batch")
    assert code == 0, out[-2000:]
    clean = _pool_ideas(tmp_path / "clean")

    fake_provider.batches.expire_next = 1  # the first round expires whole
    fake_provider.batches.inject_result("errored", 1)  # then one request errors
    code, out = _generate(spec, tmp_path / "faults", "--batch")
    assert code == 0, out[-2000:]
    run = tmp_path / "faults"
    assert _pool_ideas(run) == clean  # answered on a later attempt: the same ideas
    retried = ledger_rows(
        run, "SELECT COUNT(*) FROM attempts WHERE stage='idea_pool' AND outcome != 'ok'"
    )[0][0]
    assert retried >= 2
    tries = ledger_rows(
        run, "SELECT key, COUNT(*) FROM batch_requests WHERE stage='idea_pool' GROUP BY key"
    )
    assert max(n for _, n in tries) >= 2
    statuses = ledger_rows(run, "SELECT DISTINCT status FROM jobs")
    assert statuses == [("done",)]


def test_a_pool_batch_the_api_no_longer_knows_is_sent_again(
    retold: RetoldLog,
    fake_provider: FakeProvider,
    fake_spec: Callable[..., Path],
    tmp_path: Path,
) -> None:
    """The first pool round's batch answers 404 when polled (lost on the provider's side):
    its requests go out again in a later round and the pool ends as it would have."""
    spec = _spec(fake_spec, tmp_path, "anthropic")
    code, out = _generate(spec, tmp_path / "clean", "--batch")
    assert code == 0, out[-2000:]
    clean = _pool_ideas(tmp_path / "clean")

    fake_provider.batches.forget_next = 1
    run = tmp_path / "lost"
    code, out = _generate(spec, run, "--batch")
    assert code == 0, out[-2000:]
    assert _pool_ideas(run) == clean
    assert ledger_rows(run, "SELECT COUNT(*) FROM batches WHERE status='orphaned'") == [(1,)]
    assert ledger_rows(run, "SELECT DISTINCT status FROM jobs") == [("done",)]


def test_max_cost_stops_the_batch_pool_and_a_re_run_goes_on(
    retold: RetoldLog,
    fake_provider: FakeProvider,
    fake_spec: Callable[..., Path],
    tmp_path: Path,
) -> None:
    spec = _spec(fake_spec, tmp_path, "anthropic")
    run = tmp_path / "run"
    code, out = _generate(spec, run, "--batch", "--max-cost", "0.0001")
    assert code == 3, out[-2000:]
    assert _pool_sends(fake_provider, "anthropic") == Counter()  # no round fits the cap
    assert ledger_rows(run, "SELECT COUNT(*) FROM attempts")[0][0] == 0
    code, out = _generate(spec, run, "--batch")
    assert code == 0, out[-2000:]
    assert ledger_rows(run, "SELECT COUNT(*) FROM pool_requests")[0][0] > 0


@pytest.mark.parametrize("provider", ["anthropic", "litellm"])
def test_a_pool_batch_whose_create_got_no_answer_is_adopted_not_sent_again(
    provider: str,
    retold: RetoldLog,
    fake_provider: FakeProvider,
    fake_spec: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The create reached the API (the batch exists) but its answer was lost: exit 4, and
    the next run finds that batch (Anthropic's by size and time, OpenAI's by the intent's
    metadata token) and reads it instead of paying for a second one."""
    spec = _spec(fake_spec, tmp_path, provider)
    code, out = _generate(spec, tmp_path / "clean", "--batch")
    assert code == 0, out[-2000:]
    clean = _pool_ideas(tmp_path / "clean")
    before = _pool_sends(fake_provider, provider)
    client: Any = BatchClient if provider == "anthropic" else LitellmBatchClient
    real_create = client.create

    async def made_but_lost(self: Any, entries: Any, token: str = "") -> Any:
        monkeypatch.setattr(client, "create", real_create)
        await real_create(self, entries, token)
        raise AmbiguousCreateError("batch create timed out")

    monkeypatch.setattr(client, "create", made_but_lost)
    run = tmp_path / "run"
    code, out = _generate(spec, run, "--batch")
    assert code == 4, out[-2000:]
    code, out = _generate(spec, run, "--batch")
    assert code == 0, out[-2000:]
    assert _pool_ideas(run) == clean
    assert _pool_sends(fake_provider, provider) == before + before  # once per run each
    assert ledger_rows(run, "SELECT COUNT(*) FROM batch_requests WHERE result='lost'") == [(0,)]


def test_answers_a_changed_spec_no_longer_asks_for_are_still_on_the_ledger(
    retold: RetoldLog,
    fake_provider: FakeProvider,
    fake_spec: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Killed with a pool batch's answers not yet committed, then resumed with another
    `ideas.per_request` (other requests): the old batch is read, and what it cost is on
    the ledger, so the spend shown is what the provider billed."""
    spec = _spec(fake_spec, tmp_path, "anthropic")
    run = tmp_path / "run"
    real_commit = IdeaBook.commit

    def dies(self: IdeaBook, pool: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(IdeaBook, "commit", dies)
    code, _ = _generate(spec, run, "--batch")
    assert code == 130
    monkeypatch.setattr(IdeaBook, "commit", real_commit)
    answered = len(retold.idea_lists())
    assert answered > 0
    code, out = _generate(spec, run, "--batch", "--set", "ideas.per_request=5")
    assert code == 0, out[-2000:]
    unused = ledger_rows(
        run,
        "SELECT COUNT(*) FROM batch_requests WHERE stage='idea_pool' AND result='unused'",
    )[0][0]
    assert unused == answered  # none of the first requests is asked again
    paid = ledger_rows(run, "SELECT COUNT(*), SUM(cost_usd) FROM attempts WHERE stage='idea_pool'")[
        0
    ]
    committed = ledger_rows(run, "SELECT COUNT(*) FROM pool_requests")[0][0]
    assert paid[0] == committed + unused == len(retold.idea_lists()) and paid[1] > 0
