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


@pytest.fixture(scope="module")
def gemma_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from sdf_corpus.handoff.tokenizer import resolve_tokenizer

    resolved = resolve_tokenizer("gemma")  # converts the GGUF's tokenizer once, then cached
    tok = transformers.PreTrainedTokenizerFast(tokenizer_file=str(resolved.path))
    tok.eos_token, tok.pad_token, tok.bos_token = "<eos>", "<pad>", "<bos>"
    template = Path(trl.__file__).parent / "chat_templates" / "gemma3_training.jinja"
    tok.chat_template = template.read_text()
    return tok


def _tiny_model(vocab_size: int) -> Any:
    config = transformers.Gemma3TextConfig(
        vocab_size=vocab_size,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=8,
        max_position_embeddings=1024,
        sliding_window=64,
    )
    torch.manual_seed(0)
    return transformers.Gemma3ForCausalLM(config)


def _changed(model: Any, before: dict[str, Any]) -> bool:
    return any(not torch.equal(p, before[n]) for n, p in model.named_parameters())


def test_sft_trainer_takes_a_step_on_the_chat_export(
    built_run: Path, tmp_path: Path, gemma_tokenizer: Any
) -> None:
    import datasets

    out = tmp_path / "chat.jsonl"
    result = CliRunner().invoke(
        main, ["export", str(built_run), "--format", "jsonl-messages", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    ds = datasets.load_dataset("json", data_files=str(out), split="train")
    # Gemma's template has no tool role: train on the advice conversations.
    ds = ds.filter(lambda r: r["genre"] == "difficult_advice").select_columns(["messages"])
    assert len(ds) >= 2
    model = _tiny_model(len(gemma_tokenizer))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    args = trl.SFTConfig(
        output_dir=str(tmp_path / "sft"),
        max_steps=1,
        per_device_train_batch_size=2,
        max_length=256,
        learning_rate=1e-2,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
        dataloader_num_workers=0,
    )
    trainer = trl.SFTTrainer(
        model=model, args=args, train_dataset=ds, processing_class=gemma_tokenizer
    )
    output = trainer.train()
    assert output.global_step == 1 and torch.isfinite(torch.tensor(output.training_loss))
    assert _changed(model, before)


def test_causal_lm_step_on_the_tokens_export(
    built_run: Path, tmp_path: Path, gemma_tokenizer: Any
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
    model = _tiny_model(len(gemma_tokenizer))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    batch = torch.stack([data[i]["input_ids"] for i in range(min(2, len(data)))]).long()
    loss = model(input_ids=batch, labels=batch).loss
    loss.backward()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    assert torch.isfinite(loss) and _changed(model, before)
