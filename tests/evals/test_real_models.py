"""`sdf-corpus eval` on real models, offline: the bundled Gemma 3 270M behind
llama.cpp's OpenAI-compatible server (through Inspect's openai-api/, openai/ and
vllm/ providers), and a checkpoint trained one step on a run's export (hf/).

A 270M base model answers weakly and grades worse, so these tests assert only what
must hold whatever it says: every sample completed, every score recorded or its
failure named ("unscored", with the grader's replies), the attachment gap and its
interval computed, eval.json and eval.html written.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from inspect_ai.log import read_eval_log

from fakeprovider.server import FakeProvider
from sdf_corpus.cli import main

from .conftest import DUMMY_KEY, PAIRS, SAMPLES

pytest.importorskip("llama_cpp.server", reason="needs the local extra: pip install '.[local]'")

SMALL = ["--max-tokens", "24", "--no-progress"]


@pytest.fixture(scope="module")
def gemma() -> Iterator[str]:
    from .llama_server import serve

    with serve() as url:
        yield url


def _eval(fake_probes: Path, out: Path, model: str, grader: str, *extra: str) -> dict[str, Any]:
    args = ["eval", str(fake_probes), "--model", model, "--grader", grader, "--out", str(out)]
    result = CliRunner().invoke(main, [*args, *SMALL, *extra])
    assert result.exit_code == 0, result.output
    assert "attachment gap" in result.output
    assert (out / "eval.html").is_file()
    saved: dict[str, Any] = json.loads((out / "eval.json").read_text())
    return saved


def _check_recorded(saved: dict[str, Any]) -> None:
    """Every sample completed and scored, or its failure named; eval.json counts the
    failures the logs hold; the gap computed from the pairs scored."""
    assert set(saved["tasks"]) == set(SAMPLES)
    unscored: dict[str, int] = {}
    for name, task in saved["tasks"].items():
        assert task["status"] == "success" and task["samples_run"] == SAMPLES[name]
        unscored[name] = 0
        for sample in read_eval_log(task["log"]).samples or []:
            assert sample.error is None and sample.scores, (name, sample.id)
            score = next(iter(sample.scores.values()))
            if score.value == "unscored":  # the failure named: the grader's replies kept
                meta = score.metadata or {}
                assert meta["unscored"] is True and len(meta["grader_replies"]) == 2
                unscored[name] += 1
            else:
                assert score.value in ("C", "I") or 0.0 <= float(score.value) <= 1.0
    att = saved["tasks"]["attachment"]
    assert att["unscored_answers"] == unscored["attachment"]
    assert saved["tasks"]["scenarios"]["unscored"] == unscored["scenarios"]
    gap = att["gap"]
    assert gap["n"] == att["pairs_scored"] <= PAIRS
    if att["pairs_scored"] >= 2:
        lo, hi = gap["ci95"]
        assert lo <= gap["mean"] <= hi
    elif att["pairs_scored"] == 1:  # one pair: a value, too few for an interval
        assert gap["mean"] is not None and gap["ci95"] is None
    else:  # nothing to pair: no figure rather than a guessed one
        assert gap["mean"] is None and gap["ci95"] is None


@pytest.mark.slow
def test_gemma_through_llama_cpp_server_grades_itself(
    fake_probes: Path, gemma: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCAL_BASE_URL", gemma)
    monkeypatch.setenv("LOCAL_API_KEY", "local")
    name = "openai-api/local/gemma-3-270m"
    saved = _eval(fake_probes, tmp_path / "e", name, name)
    _check_recorded(saved)
    assert saved["model"] == name and saved["grader"] == name


@pytest.mark.slow
def test_gemma_as_vllm_and_openai_graded_by_openai(
    fake_probes: Path,
    gemma: str,
    grader_fake: FakeProvider,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """vllm/ with VLLM_BASE_URL reaches the Gemma server; openai/ with
    OPENAI_BASE_URL reaches the fake's chat endpoint, which grades every answer,
    so the gap has a value and an interval whatever Gemma answered."""
    monkeypatch.setenv("VLLM_BASE_URL", gemma)
    saved = _eval(fake_probes, tmp_path / "e", "vllm/gemma-3-270m", "openai/gpt-4o-mini")
    _check_recorded(saved)
    att = saved["tasks"]["attachment"]
    assert att["pairs_scored"] == PAIRS and att["unscored_answers"] == 0
    lo, hi = att["gap"]["ci95"]
    assert -1.0 <= lo <= att["gap"]["mean"] <= hi <= 1.0
    assert saved["tasks"]["scenarios"]["unscored"] == 0
    paths = {r["path"] for r in grader_fake.requests}
    assert paths == {"/v1/chat/completions"}
    # the one-token reachability check, then one grade per graded sample
    assert len(grader_fake.requests) == 1 + SAMPLES["attachment"] + SAMPLES["scenarios"]


def test_mockllm_runs_with_no_network_and_no_patch(fake_probes: Path, tmp_path: Path) -> None:
    """The real CLI in a fresh process, tiktoken's caches empty and every HTTP(S)
    request sent to a closed port: the mock model's token table comes from the copy
    litellm ships, so nothing is downloaded."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR")
    }
    closed = f"http://127.0.0.1:{_closed_port()}"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env.update(
        HTTPS_PROXY=closed,
        HTTP_PROXY=closed,
        https_proxy=closed,
        http_proxy=closed,
        NO_PROXY="",
        no_proxy="",
        TMPDIR=str(scratch),
        HF_HUB_OFFLINE="1",
    )
    out = tmp_path / "mock"
    cmd = [sys.executable, "-m", "sdf_corpus", "eval", str(fake_probes), "--model", "mockllm/model"]
    run = subprocess.run(
        [*cmd, "--out", str(out), "--no-progress"], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
    saved = json.loads((out / "eval.json").read_text())
    assert saved["tasks"]["attachment"]["unscored_answers"] == SAMPLES["attachment"]
    assert not (scratch / "data-gym-cache").exists()  # tiktoken's download cache untouched
    log = read_eval_log(saved["tasks"]["mcq"]["log"])
    assert log.stats.model_usage["mockllm/model"].input_tokens > 0  # counted, by tiktoken


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port  # closed when the socket is: nothing listens there


def test_unreachable_eval_model_stops_in_one_line(
    fake_probes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    monkeypatch.setenv("LOCAL_BASE_URL", url)
    monkeypatch.setenv("LOCAL_API_KEY", "local")
    out = tmp_path / "o"
    args = ["eval", str(fake_probes), "--model", "openai-api/local/m1", "--out", str(out)]
    started = time.monotonic()
    result = CliRunner().invoke(main, [*args, "--connect-grace", "2", "--no-progress"])
    took = time.monotonic() - started
    assert result.exit_code == 5, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and url in lines[0] and "LOCAL_BASE_URL" in lines[0], result.output
    assert 2 <= took < 15 and not out.exists()


def test_a_model_the_server_does_not_serve_stops_in_one_line(
    fake_probes: Path, fake_provider: FakeProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_provider.models = {"gpt-4o-mini"}
    monkeypatch.setenv("OPENAI_BASE_URL", fake_provider.openai_base)
    monkeypatch.setenv("OPENAI_API_KEY", DUMMY_KEY)
    out = tmp_path / "o"
    cases = {
        "--model": ["--model", "openai/gpt-4o-mnii"],
        "--grader": ["--model", "openai/gpt-4o-mini", "--grader", "openai/gpt-4o-nosuch"],
    }
    for option, named in cases.items():
        args = ["eval", str(fake_probes), *named, "--out", str(out), "--no-progress"]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 5, result.output
        (line,) = result.output.strip().splitlines()
        assert f"{option} {named[-1]}" in line and fake_provider.openai_base in line
        assert "does not exist" in line and "check the model name" in line
        assert not out.exists()
    # one one-token request per model: the wrong model, then the right one and the wrong grader
    assert fake_provider.count == 3


def test_a_busy_server_is_asked_again_and_a_refused_key_stops(
    fake_probes: Path, fake_provider: FakeProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", fake_provider.openai_base)
    monkeypatch.setenv("OPENAI_API_KEY", DUMMY_KEY)
    args = ["eval", str(fake_probes), "--model", "openai/gpt-4o-mini", "--task", "mcq"]
    fake_provider.inject("529", 2)  # overloaded, as a server still loading answers
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "a"), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert fake_provider.count == 3 + SAMPLES["mcq"]  # two refusals, the check, the samples
    fake_provider.inject("401")
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "b"), "--no-progress"])
    assert result.exit_code == 5, result.output
    (line,) = result.output.strip().splitlines()
    assert "--model openai/gpt-4o-mini" in line and "check the key (OPENAI_API_KEY)" in line
    assert DUMMY_KEY not in line and not (tmp_path / "b").exists()
