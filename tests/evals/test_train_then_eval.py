"""The loop, closed on one machine: a run's export trains a model one optimiser step
with TRL on CPU, the checkpoint is saved, `sdf-corpus eval` evaluates it and the
untrained model through Inspect's hf/ provider, and `sdf-corpus eval compare` sets
the two side by side with differences and intervals.

The model is the tiny randomly initialised Gemma 3 of the handoff tests (the Gemma
tokenizer from the bundled GGUF, TRL's Gemma 3 chat template); its answers are
noise, so the grader is the fake provider's OpenAI endpoint, which grades every
answer in the rubric's shape. What is asserted holds whatever the models say.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fakeprovider.server import FakeProvider
from sdf_corpus.cli import main

from .conftest import PAIRS, SAMPLES

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
trl = pytest.importorskip("trl")
datasets = pytest.importorskip("datasets")

# The handoff tests' build (a run made through the fake provider), tokenizer and model.
from handoff.conftest import built_run  # noqa: E402, F401
from handoff.tiny_gemma import (  # noqa: E402
    advice_conversations,
    changed,
    gemma_tokenizer,  # noqa: F401 - the fixture, used by name
    sft_trainer,
    tiny_model,
)


def _train_one_step(run: Path, tmp_path: Path, tokenizer: Any, base: Path, tuned: Path) -> None:
    ds = advice_conversations(run, tmp_path)
    model = tiny_model(len(tokenizer))
    model.save_pretrained(base)
    tokenizer.save_pretrained(base)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainer = sft_trainer(model, ds, tokenizer, tmp_path / "sft")
    assert trainer.train().global_step == 1 and changed(model, before)
    trainer.save_model(str(tuned))
    tokenizer.save_pretrained(tuned)


@pytest.mark.slow
def test_a_checkpoint_trained_on_the_export_is_evaluated_and_compared(
    built_run: Path,  # noqa: F811 - the imported fixture
    fake_probes: Path,
    grader_fake: FakeProvider,
    gemma_tokenizer: Any,  # noqa: F811 - the imported fixture
    tmp_path: Path,
) -> None:
    base, tuned = tmp_path / "base", tmp_path / "tuned"
    _train_one_step(built_run, tmp_path, gemma_tokenizer, base, tuned)
    for folder in (base, tuned):
        args = ["eval", str(fake_probes), "--model", f"hf/{folder}", "--grader"]
        args += ["openai/gpt-4o-mini", "--out", str(tmp_path / f"eval-{folder.name}")]
        result = CliRunner().invoke(main, [*args, "--max-tokens", "8", "--no-progress"])
        assert result.exit_code == 0, result.output
        saved = json.loads((tmp_path / f"eval-{folder.name}" / "eval.json").read_text())
        assert saved["model"] == f"hf/{folder}"
        for name, task in saved["tasks"].items():
            assert task["status"] == "success" and task["samples_run"] == SAMPLES[name]
        att = saved["tasks"]["attachment"]
        assert att["pairs_scored"] == PAIRS and att["gap"]["ci95"] is not None

    cmp_dir = tmp_path / "cmp"
    result = CliRunner().invoke(
        main,
        [
            "eval",
            "compare",
            str(tmp_path / "eval-base"),
            str(tmp_path / "eval-tuned"),
            "--out",
            str(cmp_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    cmp = json.loads((cmp_dir / "compare.json").read_text())
    assert cmp["a"]["model"] == f"hf/{base}" and cmp["b"]["model"] == f"hf/{tuned}"
    rows = {r["figure"]: r for r in cmp["rows"]}
    assert set(rows) == {
        "mcq accuracy",
        "third-person alignment",
        "first-person alignment",
        "attachment gap",
        "misaligned-action rate",
    }
    # Pairs are always graded (the fake grades anything), so the gap pairs both probes;
    # another figure counts only the probes both models' runs scored.
    assert rows["attachment gap"]["difference"]["n"] == PAIRS
    for row in rows.values():
        d = row["difference"]
        if d["n"] >= 2:
            lo, hi = d["ci95"]
            assert lo <= d["mean"] <= hi
            assert d["mean"] == pytest.approx(row["b"] - row["a"])
        else:  # too few shared probes for an interval: none is invented
            assert d["ci95"] is None
    assert "B - A" in result.output and (cmp_dir / "compare.html").is_file()
