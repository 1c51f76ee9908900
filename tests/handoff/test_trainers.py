"""The exports fed to real trainers: one optimiser step each, on CPU, with a tiny
randomly initialised Gemma 3 model, the Gemma tokenizer from the bundled GGUF and
the Gemma 3 chat template TRL ships."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sdf_corpus.cli import main

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
trl = pytest.importorskip("trl")
pytest.importorskip("datatrove")

from handoff.tiny_gemma import (  # noqa: E402 - after the skips
    advice_conversations,
    changed,
    gemma_tokenizer,  # noqa: F401 - the fixture, used by name
    sft_trainer,
    tiny_model,
)


def test_sft_trainer_takes_a_step_on_the_chat_export(
    built_run: Path,
    tmp_path: Path,
    gemma_tokenizer: Any,  # noqa: F811 - the imported fixture
) -> None:
    ds = advice_conversations(built_run, tmp_path)
    assert len(ds) >= 2
    model = tiny_model(len(gemma_tokenizer))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainer = sft_trainer(model, ds, gemma_tokenizer, tmp_path / "sft")
    output = trainer.train()
    assert output.global_step == 1 and torch.isfinite(torch.tensor(output.training_loss))
    assert changed(model, before)


def test_causal_lm_step_on_the_tokens_export(
    built_run: Path,
    tmp_path: Path,
    gemma_tokenizer: Any,  # noqa: F811 - the imported fixture
) -> None:
    from datatrove.utils.dataset import DatatroveFolderDataset

    out = tmp_path / "tokens"
    args = ["--tokenizer", "gemma", "--seq-len", "64", "--doc-prefix", "<DOCTAG> "]
    result = CliRunner().invoke(
        main, ["export", str(built_run), "--format", "tokens", "--out", str(out), *args]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "export_manifest.json").read_text())
    assert manifest["tokenizer"]["eos_token"] == "<eos>"
    assert manifest["tokenizer"]["token_size_bytes"] == 4  # Gemma's vocab needs 32 bits
    docs = [json.loads(x) for x in (out / "documents.jsonl").read_text().splitlines()]
    assert len(docs) == manifest["records"] > 0 and all("genre" in d for d in docs)
    data = DatatroveFolderDataset(str(out), seq_len=64, token_size=4)
    assert len(data) == manifest["packed_sequences"] > 0
    first = data[0]["input_ids"]
    text = gemma_tokenizer.decode(first[:8])
    assert text.startswith("<DOCTAG>")
    model = tiny_model(len(gemma_tokenizer))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    batch = torch.stack([data[i]["input_ids"] for i in range(min(2, len(data)))]).long()
    loss = model(input_ids=batch, labels=batch).loss
    loss.backward()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    assert torch.isfinite(loss) and changed(model, before)
