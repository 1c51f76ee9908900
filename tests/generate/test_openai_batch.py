"""`generate --batch` with `backend.provider: litellm` and an `openai/...` model, through
litellm's Files + Batches API against the fake provider's OpenAI endpoints."""

from __future__ import annotations

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
from killing import kill_when, start_cli
from runfiles import shard_rows
from sdf_corpus.cli import main
from sdf_corpus.generate.backends.openai_batches import LitellmBatchClient
from sdf_corpus.pricing.prices import OPENAI_PRICES, cost_usd

from .conftest import DUMMY_KEY, ledger_rows
from .test_batch import _tag, _tagging, realistic
from .test_generate import _assert_done_once, _planned_requests

FAST_POLL = {"poll_initial": 0.02, "poll_max": 0.1}
MODEL = "openai/gpt-5.4-mini"


def _spec(fake_spec: Callable[..., Path], **backend: Any) -> Path:
    batch = {**FAST_POLL, **backend.pop("batch", {})}
    # Each job its own stages: these tests count per-job batch requests (the idea pool's
    # own requests, and its --batch, are tested in tests/ideas).
    return fake_spec(
        "litellm", backend={"model": MODEL, "batch": batch, **backend}, ideas={"pool": False}
    )


def _run(spec: Path, *args: str, command: str = "generate") -> tuple[int, str]:
    result = CliRunner().invoke(main, [command, str(spec), "--no-progress", *args])
    return result.exit_code, result.stderr


def _submitted(fake: FakeProvider) -> list[str]:
    return [cid for batch in fake.openai_batches.created for cid in batch["custom_ids"]]


def _assert_all_done_once(spec: Path, fake: FakeProvider, *, killed: bool = False) -> None:
    _assert_done_once(spec, _submitted(fake))
    # No junk: every uploaded, output and error file was deleted once collected. A kill
    # between an upload and its create can leave that one input file, which no batch
    # refers to (storage, never a request: the re-run uploads its own); nothing else.
    left = set(fake.openai_batches.files)
    if killed:
        used = {b.input_file_id for b in fake.openai_batches._batches.values()}
        left -= {f for f in left if f not in used and _is_upload(fake, f)}
    assert left == set()


def _is_upload(fake: FakeProvider, file_id: str) -> bool:
    """An input file: request lines, not a batch's output or error lines."""
    lines = fake.openai_batches.files[file_id].decode().splitlines()
    return all("body" in json.loads(line) for line in lines if line.strip())


def _user_text(body: dict[str, Any]) -> str:
    return "\n".join(m["content"] for m in body["messages"] if m["role"] == "user")


def test_shuffled_chunked_results_map_by_custom_id_and_cost_the_batch_rate(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", DUMMY_KEY)
    spec = _spec(fake_spec, batch={"max_requests": 3})
    code, err = _run(spec, "--batch")
    assert code == 0, err
    _assert_all_done_once(spec, fake_provider)
    created = fake_provider.openai_batches.created
    assert len(created) > 3 and all(len(b["custom_ids"]) <= 3 for b in created)
    assert {m for b in created for m in b["models"]} == {"gpt-5.4-mini"}
    assert all(b["metadata"]["sdf_corpus_intent"].startswith("sdf-") for b in created)
    run = spec.parent / "run"
    price = OPENAI_PRICES["gpt-5.4-mini"]
    for inp, out, read, cost in ledger_rows(
        run, "SELECT input_tokens, output_tokens, cache_read_tokens, cost_usd FROM outputs"
    ):
        assert cost == pytest.approx(cost_usd(price, inp, out, read, 0) / 2)
        assert cost > 0


def test_errored_and_expired_requests_and_a_429_on_create_are_retried(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", DUMMY_KEY)
    spec = _spec(fake_spec)
    fake_provider.openai_batches.fail_create(429)
    fake_provider.openai_batches.inject_result("expired", count=2)
    fake_provider.openai_batches.inject_result("errored", status=500, code="server_error")
    code, err = _run(spec, "--batch")
    assert code == 0, err
    _assert_all_done_once(spec, fake_provider)
    run = spec.parent / "run"
    results = dict(ledger_rows(run, "SELECT result, COUNT(*) FROM batch_requests GROUP BY 1"))
    assert results["expired"] == 2 and results["errored"] == 1
    assert ledger_rows(run, "SELECT COUNT(*) FROM batch_requests WHERE attempt=2")[0][0] == 3


def test_an_invalid_request_fails_its_job_at_once(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", DUMMY_KEY)
    spec = _spec(fake_spec)
    fake_provider.openai_batches.inject_result("errored", status=400, code="invalid_request_error")
    code, err = _run(spec, "--batch")
    assert code == 0, err
    run = spec.parent / "run"
    failed = ledger_rows(run, "SELECT error FROM jobs WHERE status='failed'")
    assert len(failed) == 1 and "invalid_request_error" in failed[0][0]


def test_account_refusal_on_create_stops_the_run(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", DUMMY_KEY)
    spec = _spec(fake_spec)
    fake_provider.openai_batches.fail_create(401, count=10)
    code, err = _run(spec, "--batch")
    assert code == 5, err
    assert "401" in err and "\n" not in err.strip()
    run = spec.parent / "run"
    assert ledger_rows(run, "SELECT COUNT(*) FROM batches")[0][0] == 0
    assert fake_provider.openai_batches.files == {}  # the refused batch's upload is gone


def test_batch_gives_the_same_shards_as_the_immediate_path(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", DUMMY_KEY)
    fake_provider.responder = realistic  # documents long enough for the clean stage to keep
    texts = {}
    for mode in ("immediate", "batch"):
        spec = _spec(fake_spec, concurrency=2)
        out = spec.parent / mode
        args = ["--out", str(out)] + (["--batch"] if mode == "batch" else [])
        code, err = _run(spec, *args, command="build")
        assert code in (0, 6), err
        texts[mode] = {r["id"]: r["text"] for r in shard_rows(out)}
    assert texts["batch"] and texts["batch"] == texts["immediate"]


def test_a_mixed_build_batches_ideas_on_openai_and_the_rest_on_anthropic(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", DUMMY_KEY)
    idea = {"provider": "litellm", "model": MODEL, "api_base": fake_provider.openai_base}
    spec = fake_spec(backend={"batch": FAST_POLL, "stages": {"idea": idea}}, ideas={"pool": False})
    code, err = _run(spec, "--batch")
    assert code == 0, err
    jobs, planned = _planned_requests(spec)
    run = spec.parent / "run"
    assert ledger_rows(run, "SELECT status, COUNT(*) FROM jobs GROUP BY status") == [("done", jobs)]
    openai_ids = _submitted(fake_provider)
    anthropic_ids = [c for b in fake_provider.batches.created for c in b["custom_ids"]]
    assert openai_ids and all("-idea-" in c for c in openai_ids)
    assert anthropic_ids and not any("-idea-" in c for c in anthropic_ids)
    assert len(openai_ids) + len(anthropic_ids) == planned
    by_stage = dict(
        ledger_rows(run, "SELECT stage, GROUP_CONCAT(DISTINCT backend) FROM outputs GROUP BY 1")
    )
    assert by_stage["idea"] == "litellm" and by_stage["draft"] == "anthropic"
    providers = ledger_rows(run, "SELECT DISTINCT provider, model FROM batches ORDER BY 1")
    assert providers == [("anthropic", "claude-haiku-4-5"), ("litellm", MODEL)]


def _start(spec: Path) -> subprocess.Popen[bytes]:
    keys = {"OPENAI_API_KEY": DUMMY_KEY, "ANTHROPIC_API_KEY": DUMMY_KEY}
    return start_cli("generate", str(spec), "--batch", "--no-progress", env=keys)


@pytest.mark.parametrize("seed", [1, 2])
def test_sigkill_while_a_batch_is_in_flight_then_resume_adopts_it(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider, seed: int
) -> None:
    fake_provider.openai_batches.hold = True
    spec = _spec(fake_spec, batch={"max_requests": 3})
    proc = _start(spec)
    pause = random.Random(seed).uniform(0.0, 0.05)
    batches = fake_provider.openai_batches
    killed = kill_when(proc, lambda: bool(batches.created), within=60, pause=pause, poll=0.005)
    assert killed, proc.communicate()[1].decode()
    assert fake_provider.openai_batches.created
    fake_provider.openai_batches.release()
    final = _start(spec)
    _, err = final.communicate(timeout=300)
    assert final.returncode == 0, err.decode()
    _assert_all_done_once(spec, fake_provider, killed=True)
    pairs = Counter(re.sub(r"-\d+$", "", cid) for cid in _submitted(fake_provider))
    assert max(pairs.values()) == 1  # every (job, stage) went out exactly once
    assert sum(pairs.values()) == _planned_requests(spec)[1]


def test_each_output_answers_the_line_its_custom_id_was_uploaded_with(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", DUMMY_KEY)
    fake_provider.responder = _tagging
    fake_provider.openai_batches.rng = random.Random(7)
    spec = _spec(fake_spec, batch={"max_requests": 4})
    bodies: dict[str, dict[str, Any]] = {}
    real_line = LitellmBatchClient.line

    def spy(self: LitellmBatchClient, entry: Any) -> bytes:
        bodies[entry.custom_id] = entry.params
        return real_line(self, entry)

    monkeypatch.setattr(LitellmBatchClient, "line", spy)
    code, err = _run(spec, "--batch")
    assert code == 0, err
    run = spec.parent / "run"
    owner = {
        cid: (job, stage)
        for cid, job, stage in ledger_rows(
            run, "SELECT custom_id, job_id, stage FROM batch_requests"
        )
    }
    texts = {(j, s): t for j, s, t in ledger_rows(run, "SELECT job_id, stage, text FROM outputs")}
    for cid in _submitted(fake_provider):
        assert _tag(_user_text(bodies[cid])) in texts[owner[cid]]


def test_a_create_whose_answer_is_lost_is_adopted_by_its_token(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch exists but the answer timed out: exit 4, then the re-run finds the batch
    by the intent token in its metadata and submits none of its requests again."""
    import litellm

    monkeypatch.setenv("OPENAI_API_KEY", DUMMY_KEY)
    spec = _spec(fake_spec)
    real = litellm.acreate_batch

    async def lost(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(litellm, "acreate_batch", real)
        await real(*args, **kwargs)  # created on the server ...
        raise litellm.Timeout("Request timed out", model="gpt-5.4-mini", llm_provider="openai")

    monkeypatch.setattr(litellm, "acreate_batch", lost)
    code, err = _run(spec, "--batch")
    assert code == 4 and "re-run" in err
    assert len(fake_provider.openai_batches.created) == 1
    code, err = _run(spec, "--batch")
    assert code == 0, err
    _assert_all_done_once(spec, fake_provider)
    run = spec.parent / "run"
    assert ledger_rows(run, "SELECT COUNT(*) FROM batch_requests WHERE result='lost'") == [(0,)]
