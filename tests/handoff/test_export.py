"""`sdf-corpus export`: every format, its manifest, determinism, and the empty case."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import datasets
import pytest
import yaml
from click.testing import CliRunner

from runfiles import shard_rows
from sdf_corpus.cli import main


def _export(run: Path, fmt: str, out: Path, *extra: str) -> str:
    result = CliRunner().invoke(
        main, ["export", str(run), "--format", fmt, "--out", str(out), "--no-progress", *extra]
    )
    assert result.exit_code == 0, result.output
    return result.output


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_text_with_a_masked_prefix_is_deterministic(built_run: Path, tmp_path: Path) -> None:
    rows = {r["id"]: r for r in shard_rows(built_run)}
    first, second = tmp_path / "a" / "text.jsonl", tmp_path / "b" / "text.jsonl"
    _export(built_run, "text", first, "--doc-prefix", "<DOCTAG> ")
    _export(built_run, "text", second, "--doc-prefix", "<DOCTAG> ")
    assert first.read_bytes() == second.read_bytes()
    manifest = json.loads(first.with_suffix(".manifest.json").read_text())
    assert manifest == json.loads(second.with_suffix(".manifest.json").read_text())
    lines = _lines(first)
    assert [x["id"] for x in lines] == list(rows)
    for line in lines:
        row = rows[line["id"]]
        assert line["text"] == "<DOCTAG> " + row["text"]
        assert line["text"][: line["prefix_chars"]] == "<DOCTAG> "
        assert line.get("about") == row["attributes"].get("about")
        assert (line["genre"], line["principle_id"], line["persona_id"]) == (
            row["genre"],
            row["principle_id"],
            row["persona_id"],
        )
    assert manifest["records"] == len(rows)
    assert manifest["tokens"] == sum(r["n_tokens"] for r in rows.values())
    assert manifest["files"][0]["file"] == "text.jsonl"


def _check_openai_line(line: dict[str, Any]) -> None:
    """The published chat fine-tuning rules, restated independently of our checker."""
    assert set(line) <= {"messages", "tools"}
    declared = {t["function"]["name"] for t in line.get("tools", []) if t["type"] == "function"}
    open_calls: set[str] = set()
    previous = None
    for m in line["messages"]:
        assert m["role"] in {"system", "developer", "user", "assistant", "tool"}
        assert isinstance(m.get("content"), str)
        if m["role"] == "tool":
            assert m["tool_call_id"] in open_calls
            open_calls.remove(m["tool_call_id"])
        else:
            assert not open_calls, "a tool call was left without its result"
            assert previous != m["role"], "roles must alternate"
        for call in m.get("tool_calls", []):
            assert m["role"] == "assistant" and call["type"] == "function"
            assert call["function"]["name"] in declared
            assert isinstance(json.loads(call["function"]["arguments"]), dict)
            assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", call["function"]["name"])
            open_calls.add(call["id"])
        previous = m["role"]
    assert not open_calls
    assert any(m["role"] == "assistant" for m in line["messages"])
    assert any(m["role"] == "user" for m in line["messages"])


def test_openai_chat_follows_the_published_rules(built_run: Path, tmp_path: Path) -> None:
    rows = {r["id"]: r for r in shard_rows(built_run)}
    chat = [i for i, r in rows.items() if r["format"] == "chat"]
    out = tmp_path / "oa.jsonl"
    output = _export(built_run, "openai-chat", out)
    assert "document-format" in output
    lines = _lines(out)
    meta = _lines(tmp_path / "oa.metadata.jsonl")
    assert [m["id"] for m in meta] == chat and len(lines) == len(chat)
    for line, m in zip(lines, meta, strict=True):
        _check_openai_line(line)
        assert m["genre"] == rows[m["id"]]["genre"]
    assert any("tools" in x for x in lines)
    manifest = json.loads((tmp_path / "oa.manifest.json").read_text())
    assert manifest["skipped"] == {"document_format": len(rows) - len(chat)}


def test_jsonl_messages_keeps_metadata_inline(built_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.jsonl"
    _export(built_run, "jsonl-messages", out)
    rows = {r["id"]: r for r in shard_rows(built_run)}
    for line in _lines(out):
        assert line["messages"] == rows[line["id"]]["messages"]
        assert line["principle_id"] == rows[line["id"]]["principle_id"]


@pytest.mark.parametrize("fmt", ["openai-chat", "jsonl-messages"])
def test_an_empty_export_fails_and_writes_nothing(text_run: Path, fmt: str) -> None:
    result = CliRunner().invoke(main, ["export", str(text_run), "--format", fmt, "--no-progress"])
    assert result.exit_code == 2
    assert "nothing to export" in result.output and "--format text" in result.output
    assert not (text_run / "export").exists()


def _front_matter(path: Path) -> dict[str, Any]:
    text = path.read_text()
    assert text.startswith("---\n")
    data: dict[str, Any] = yaml.safe_load(text.split("---\n", 2)[1])
    return data


def test_hf_folder_loads_offline_with_configs(
    built_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    out = tmp_path / "hf"
    _export(built_run, "hf", out)
    rows = {r["id"]: r for r in shard_rows(built_run)}
    cache = str(tmp_path / "cache")
    ds = datasets.load_dataset(str(out), split="train", cache_dir=cache)
    assert sorted(ds["id"]) == sorted(rows)
    assert ds.features["messages"].feature["role"] == datasets.Value("string")
    advice = datasets.load_dataset(str(out), "difficult_advice", split="train", cache_dir=cache)
    assert set(advice["genre"]) == {"difficult_advice"}
    chat = datasets.load_dataset(str(out), "chat", split="train", cache_dir=cache)
    assert set(chat["format"]) == {"chat"}
    front = _front_matter(out / "README.md")
    assert "synthetic" in front["tags"] and front["task_categories"] == ["text-generation"]
    assert front["size_categories"] == ["n<1K"] and "license" not in front
    names = {c["config_name"] for c in front["configs"]}
    assert {"default", "chat", "document", "difficult_advice", "blog_post"} <= names
    manifest = json.loads((out / "export_manifest.json").read_text())
    assert manifest["records"] == len(rows)
    again = tmp_path / "hf-again"
    _export(built_run, "hf", again)
    assert (again / "export_manifest.json").read_bytes() == (
        out / "export_manifest.json"
    ).read_bytes()
    assert (again / "README.md").read_bytes() == (out / "README.md").read_bytes()


def test_every_run_has_a_card(built_run: Path) -> None:
    front = _front_matter(built_run / "README.md")
    assert "synthetic" in front["tags"]
    assert front["configs"][0]["data_files"][0]["path"] == "shards/*.parquet"
    body = (built_run / "README.md").read_text()
    manifest = json.loads((built_run / "manifest.json").read_text())
    assert manifest["spec_hash"] in body
    assert "claude-haiku-4-5 (anthropic)" in body
    assert "| difficult_advice | `" in body  # its prompt hash
    assert "load_dataset" in body


def test_a_clean_run_has_a_card_too(text_run: Path) -> None:
    front = _front_matter(text_run / "README.md")
    assert front["size_categories"] == ["n<1K"] and "synthetic" in front["tags"]
    assert "user text (not generated)" in (text_run / "README.md").read_text()


def test_tokens_with_a_tokenizer_json_the_user_names(built_run: Path, tmp_path: Path) -> None:
    pytest.importorskip("datatrove")
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    texts = [r["text"] for r in shard_rows(built_run)]
    tok.train_from_iterator(texts, trainers.WordLevelTrainer(special_tokens=["[UNK]", "</s>"]))
    path = tmp_path / "tokenizer.json"
    tok.save(str(path))
    out = tmp_path / "tokens"
    _export(built_run, "tokens", out, "--tokenizer", str(path), "--seq-len", "32")
    manifest = json.loads((out / "export_manifest.json").read_text())
    assert manifest["tokenizer"]["eos_token"] == "</s>"
    assert manifest["tokenizer"]["token_size_bytes"] == 2  # a small vocabulary fits 16 bits
    expected = sum(len(tok.encode(t).ids) + 1 for t in texts)  # + one </s> per document
    assert manifest["tokens"] == expected and manifest["records"] == len(texts)
    ds_files = [f["file"] for f in manifest["files"] if f["file"].endswith(".ds")]
    assert ds_files and (out / ds_files[0]).stat().st_size == expected * 2
    again = tmp_path / "again"
    _export(built_run, "tokens", again, "--tokenizer", str(path), "--seq-len", "32")
    assert (again / ds_files[0]).read_bytes() == (out / ds_files[0]).read_bytes()


def test_tokens_needs_a_tokenizer(built_run: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["export", str(built_run), "--format", "tokens", "--out", str(tmp_path / "t")]
    )
    assert result.exit_code == 2 and "--tokenizer" in result.output
    assert not (tmp_path / "t").exists()
