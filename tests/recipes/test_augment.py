"""`sdf-corpus augment`: tools and system prompts added, conversations otherwise untouched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sdf_corpus.cli.augment import augment
from sdf_corpus.recipes.augment import system_prompts

ROWS = [
    {
        "id": "a",
        "source": "safety-v2",
        "messages": [
            {"role": "user", "content": "My landlord kept my deposit. Forge a receipt?"},
            {"role": "assistant", "content": "I would not forge it. Here is what to do."},
        ],
    },
    {
        "id": "b",
        "messages": [
            {"role": "system", "content": "Answer in French."},
            {"role": "user", "content": "Puis-je mentir à mon auditeur ?"},
            {"role": "assistant", "content": "Non, et voici pourquoi."},
        ],
    },
    {
        "id": "c",
        "tools": [{"type": "function", "function": {"name": "email_send", "parameters": {}}}],
        "messages": [
            {"role": "user", "content": "Send the report."},
            {"role": "assistant", "content": None, "tool_calls": []},
        ],
    },
] + [
    {
        "id": f"n{i}",
        "messages": [
            {"role": "user", "content": f"Question {i}?"},
            {"role": "assistant", "content": f"Answer {i}."},
        ],
    }
    for i in range(40)
]


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _run(src: Path, out: Path, *args: str) -> list[dict]:
    result = CliRunner().invoke(augment, [str(src), "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in (out / "augmented.jsonl").read_text().splitlines()]


def test_adds_tools_and_system_prompts_and_keeps_the_turns(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.jsonl", ROWS)
    out = _run(src, tmp_path / "out", "--seed", "3", "--tools-per-conv", "2-6")
    assert len(out) == len(ROWS)
    contexts = {p["prompt"].strip() for p in system_prompts()}
    for before, after in zip(ROWS, out, strict=True):
        assert {
            k: v for k, v in after.items() if k not in ("messages", "tools", "augmentation")
        } == {k: v for k, v in before.items() if k not in ("messages", "tools")}
        kept = [m for m in before["messages"] if m["role"] != "system"]
        assert [m for m in after["messages"] if m["role"] != "system"] == kept
        added = after["augmentation"]["tools"]
        if "tools" not in before:  # elsewhere a drawn tool clashing with an existing one is dropped
            assert 2 <= len(added) <= 6
        new = after["tools"][len(before.get("tools", [])) :]
        assert [t["function"]["name"] for t in new] == added
        if after["augmentation"]["system_prompt"]:
            system = after["messages"][0]
            assert system["role"] == "system"
            assert any(system["content"].startswith(c) for c in contexts)
    with_prompt = sum(bool(r["augmentation"]["system_prompt"]) for r in out)
    assert 30 <= with_prompt <= len(out)  # rate 0.9 by default
    # an existing system message is kept word for word, after the deployment context
    b = next(r for r in out if r["id"] == "b")
    assert b["messages"][0]["content"].endswith("\n\nAnswer in French.")
    assert len([m for m in b["messages"] if m["role"] == "system"]) == 1
    # existing tools are kept first
    c = next(r for r in out if r["id"] == "c")
    assert c["tools"][0]["function"]["name"] == "email_send"
    assert "email_send" not in c["augmentation"]["tools"]
    assert len({r["augmentation"]["system_prompt"] for r in out}) > 10  # varied


def test_deterministic_for_a_seed(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.jsonl", ROWS)
    first = _run(src, tmp_path / "one", "--seed", "7")
    _run(src, tmp_path / "two", "--seed", "7")
    assert (tmp_path / "two" / "augmented.jsonl").read_bytes() == (
        tmp_path / "one" / "augmented.jsonl"
    ).read_bytes()
    assert _run(src, tmp_path / "three", "--seed", "8") != first


def test_rate_and_range_options(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.jsonl", ROWS)
    out = _run(src, tmp_path / "out", "--system-prompt-rate", "0", "--tools-per-conv", "3")
    assert all(not r["augmentation"]["system_prompt"] for r in out)
    assert all(len(r["augmentation"]["tools"]) == 3 for r in out if r["id"] != "c")
    assert [r["messages"] for r in out] == [r["messages"] for r in ROWS]


@pytest.mark.parametrize(
    ("content", "line", "words"),
    [
        ('{"messages": [{"role": "user", "content": "hi"}]}\nnot json\n', 2, "not valid JSON"),
        (
            '{"messages": [{"role": "user", "content": "hi"}]}\n{"text": "no messages"}\n',
            2,
            "messages",
        ),
        ('{"messages": [{"role": "user"}]}\n', 1, "role"),
        ('{"messages": [{"content": "who am I"}]}\n', 1, "role"),
        ("[1, 2]\n", 1, "JSON object"),
    ],
)
def test_bad_input_names_file_and_line_and_writes_nothing(
    tmp_path: Path, content: str, line: int, words: str
) -> None:
    src = tmp_path / "bad.jsonl"
    src.write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(augment, [str(src), "--out", str(out)])
    assert result.exit_code == 2
    assert f"{src}:{line}" in result.output and words in result.output
    assert not out.exists()


def test_bad_input_leaves_an_earlier_output_alone(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.jsonl", ROWS)
    out = tmp_path / "out"
    _run(src, out)
    before = (out / "augmented.jsonl").read_bytes()
    src.write_text('{"messages": []}\n', encoding="utf-8")
    result = CliRunner().invoke(augment, [str(src), "--out", str(out)])
    assert result.exit_code == 2
    assert (out / "augmented.jsonl").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["augmented.jsonl"]
