"""The one-step TRL set-up that the trainer tests and the train-then-eval test share:
a tiny randomly initialised Gemma 3 on CPU, the Gemma tokenizer from the bundled GGUF
with the Gemma 3 chat template TRL ships, and one SFT step on a run's chat export.

Tests import the `gemma_tokenizer` fixture from here so that both use one set-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sdf_corpus.cli import main

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
trl = pytest.importorskip("trl")

__all__ = ["advice_conversations", "changed", "gemma_tokenizer", "sft_trainer", "tiny_model"]


@pytest.fixture(scope="module")
def gemma_tokenizer() -> Any:
    from sdf_corpus.handoff.tokenizer import resolve_tokenizer

    resolved = resolve_tokenizer("gemma")  # converts the GGUF's tokenizer once, then cached
    tok = transformers.PreTrainedTokenizerFast(tokenizer_file=str(resolved.path))
    tok.eos_token, tok.pad_token, tok.bos_token = "<eos>", "<pad>", "<bos>"
    template = Path(trl.__file__).parent / "chat_templates" / "gemma3_training.jinja"
    tok.chat_template = template.read_text()
    return tok


def tiny_model(vocab_size: int) -> Any:
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


def changed(model: Any, before: dict[str, Any]) -> bool:
    return any(not torch.equal(p, before[n]) for n, p in model.named_parameters())


def advice_conversations(run: Path, tmp_path: Path) -> Any:
    """The run's `jsonl-messages` export, loaded with `datasets`: its advice conversations."""
    import datasets

    out = tmp_path / "chat.jsonl"
    result = CliRunner().invoke(
        main, ["export", str(run), "--format", "jsonl-messages", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    ds = datasets.load_dataset("json", data_files=str(out), split="train")
    # Gemma's template has no tool role: train on the advice conversations.
    return ds.filter(lambda r: r["genre"] == "difficult_advice").select_columns(["messages"])


def sft_trainer(model: Any, dataset: Any, tokenizer: Any, out: Path) -> Any:
    """TRL's SFTTrainer set for exactly one optimiser step on CPU, saving nothing itself."""
    args = trl.SFTConfig(
        output_dir=str(out),
        max_steps=1,
        per_device_train_batch_size=2,
        max_length=256,
        learning_rate=1e-2,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
        dataloader_num_workers=0,
    )
    return trl.SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
