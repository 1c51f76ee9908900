from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sdf_corpus.cli.inspect import inspect
from sdf_corpus.report.inspect import format_document


def _headers(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("== ")]


def test_inspect_filters_by_genre(built_run: Path) -> None:
    result = CliRunner().invoke(inspect, [str(built_run), "--genre", "news_article", "-n", "3"])
    assert result.exit_code == 0, result.output
    headers = _headers(result.output)
    assert 1 <= len(headers) <= 3
    assert all(" | news_article | " in h for h in headers)
    assert all(h.rstrip().endswith("tokens") for h in headers)


def test_inspect_filters_by_persona_name(built_run: Path) -> None:
    first = _headers(CliRunner().invoke(inspect, [str(built_run), "-n", "1"]).output)[0]
    name = first.split(" | ")[3].split(" (")[0]  # "Name (id)"
    result = CliRunner().invoke(inspect, [str(built_run), "--persona", name.lower(), "-n", "50"])
    headers = _headers(result.output)
    assert headers and all(f" | {name} (" in h for h in headers)


def test_inspect_rejected_reason(built_run: Path) -> None:
    rows = [json.loads(x) for x in (built_run / "rejected" / "rejected.jsonl").open()]
    reason = rows[0]["reason"]
    result = CliRunner().invoke(inspect, [str(built_run), "--rejected", reason, "-n", "100"])
    assert result.exit_code == 0
    assert len(_headers(result.output)) == sum(r["reason"] == reason for r in rows)
    assert f"rejected at {rows[0]['stage']}: {reason}" in result.output
    other = CliRunner().invoke(inspect, [str(built_run), "--rejected", "no_such_reason"])
    assert _headers(other.output) == []


def test_inspect_errors_are_one_line_exit_2(tmp_path: Path) -> None:
    missing = CliRunner().invoke(inspect, [str(tmp_path / "nope")])
    assert missing.exit_code == 2 and missing.output.count("\n") == 1
    (tmp_path / "empty").mkdir()
    empty = CliRunner().invoke(inspect, [str(tmp_path / "empty")])
    assert empty.exit_code == 2 and "no shards" in empty.output


def test_chat_documents_show_role_labelled_turns() -> None:
    row = {
        "id": "c1",
        "genre": "advice",
        "format": "chat",
        "principle_id": "p",
        "persona_id": "x",
        "n_tokens": 9,
        "text": "ignored",
        "messages": json.dumps(
            [
                {"role": "user", "content": "Should I?"},
                {"role": "assistant", "content": "Let us think."},
            ]
        ),
    }
    out = format_document(row, {"x": "Xena"})
    assert out.splitlines()[0] == "== c1 | advice | p | Xena (x) | 9 tokens"
    assert "[USER]\n    Should I?" in out and "[ASSISTANT]\n    Let us think." in out


def test_inspect_takes_a_principle_by_title_or_id(built_run: Path) -> None:
    from runfiles import ledger_rows

    (meta,) = ledger_rows(built_run, "SELECT value FROM meta WHERE key='principles'")
    principles = json.loads(str(meta[0]))
    by_id = {
        p["id"]: CliRunner().invoke(inspect, [str(built_run), "--principle", p["id"], "-n", "50"])
        for p in principles[:3]
    }
    for p in principles[:3]:
        by_title = CliRunner().invoke(
            inspect, [str(built_run), "--principle", p["title"].upper(), "-n", "50"]
        )
        assert by_title.exit_code == 0, by_title.output
        assert by_title.stdout == by_id[p["id"]].stdout
        assert all(f" | {p['id']} | " in h for h in _headers(by_title.stdout))


@pytest.mark.parametrize(
    ("option", "value", "listed"),
    [("--genre", "blogpost", "blog_post, news_article"), ("--principle", "Stay calm", "be_")],
)
def test_inspect_unknown_name_lists_the_valid_ones(
    built_run: Path, option: str, value: str, listed: str
) -> None:
    result = CliRunner().invoke(inspect, [str(built_run), option, value])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and listed in result.stderr
