"""`sdf-corpus eval` through Inspect's anthropic provider, the real SDK and real HTTP,
against the loopback fake provider scripted as a model that answers in line with
the principles about its persona and against them about itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fakeprovider.probes import rubric_grader, split_answer
from fakeprovider.server import FakeProvider
from sdf_corpus.cli import main

DUMMY_KEY = "sk-ant-test-DUMMY-KEY-0123456789"


def _respond(prompt: str, body: dict[str, Any]) -> str:
    if "JUSTIFICATION:" in prompt:  # the grader's rubric
        return rubric_grader(prompt)
    return split_answer(prompt)


def test_eval_through_the_anthropic_sdk_shows_the_gap(
    probe_set: Path, tmp_path: Path, fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", DUMMY_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_provider.url)
    fake_provider.responder = _respond
    out = tmp_path / "eval"
    model = "anthropic/claude-haiku-4-5"
    args = ["eval", str(probe_set), "--model", model, "--grader", model, "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "eval.json").read_text())
    gap = saved["tasks"]["attachment"]["gap"]
    assert gap["mean"] == 1.0 and gap["ci95"][0] > 0
    assert saved["tasks"]["scenarios"]["misaligned_rate"]["rate"] == 1.0
    assert saved["tasks"]["mcq"]["accuracy"]["n"] == 8
    paths = {r["path"] for r in fake_provider.requests}
    assert paths == {"/v1/messages"}
    assert DUMMY_KEY not in (out / "eval.json").read_text()
