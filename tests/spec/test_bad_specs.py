"""A table of broken specs: each exits 2 with one line naming the place and the fix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sdf_corpus.cli import main

BAD_GENRE = """
name: broken
title: Broken
description: A genre whose prompt names a variable that does not exist.
length: {min: 100, max: 200}
stages:
  - name: draft
    prompt: "Write about {{ principle.title }} for {{ reader.name }}."
"""

# `parse: sections` was accepted but never implemented: now refused, naming the choices.
SECTIONS_GENRE = BAD_GENRE.replace("{{ reader.name }}", "a reader") + "    parse: sections\n"

CLAUDE_PERSONA = """
kind: ai
personas:
  - {id: c1, name: Claude, role: assistant, traits: [kind]}
"""


def _extra_file(tmp_path: Path, name: str, content: str) -> str:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return str(path)


CASES: list[tuple[str, Callable[[Path], dict[str, Any]], str]] = [
    ("unknown genre", lambda t: {"genres": ["blog_post", "nope"]}, "unknown genre 'nope'"),
    (
        "missing constitution",
        lambda t: {"constitution": str(t / "absent.md")},
        "constitution file not found",
    ),
    ("negative weight", lambda t: {"mix": {"blog_post": -1}}, "weights must be > 0"),
    ("mix names a genre not listed", lambda t: {"mix": {"faq": 2}}, "field mix: 'faq'"),
    ("unknown key", lambda t: {"colour": "red"}, "field colour: unknown key"),
    (
        "unknown nested key",
        lambda t: {"backend": {"provider": "local", "speed": 3}},
        "field backend.speed: unknown key",
    ),
    ("bad provider", lambda t: {"backend": {"provider": "openai"}}, "field backend.provider"),
    ("budget missing", lambda t: {"budget": None}, "field budget"),
    (
        "empty constitution",
        lambda t: {"constitution": _extra_file(t, "empty.md", "# Nothing\n")},
        "no principles found",
    ),
    (
        "unfillable prompt variable",
        lambda t: {"genres": [_extra_file(t, "broken.yaml", BAD_GENRE)]},
        "template variable cannot be filled: 'reader' is undefined",
    ),
    (
        "excluded AI name",
        lambda t: {"personas": [_extra_file(t, "ai.yaml", CLAUDE_PERSONA)]},
        "named 'Claude', an excluded name",
    ),
    ("missing persona folder", lambda t: {"personas": str(t / "nowhere")}, "field personas"),
    (
        "unimplemented stage parse",
        lambda t: {"genres": [_extra_file(t, "sections.yaml", SECTIONS_GENRE)]},
        "field stages.0.parse: Input should be 'text' or 'list'",
    ),
]


@pytest.mark.parametrize(("label", "fields", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_spec_exits_2_with_one_clear_line(
    tmp_path: Path,
    write_spec: Callable[..., Path],
    label: str,
    fields: Callable[[Path], dict[str, Any]],
    expected: str,
) -> None:
    spec = write_spec(**fields(tmp_path))
    result = CliRunner().invoke(main, ["plan", str(spec)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert expected in lines[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "run").exists()  # nothing written for a spec that does not load


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text("name: x\ngenres: [a, b\nbudget: {tokens: 5}\n")
    result = CliRunner().invoke(main, ["plan", str(spec)])
    assert result.exit_code == 2
    assert f"{spec}: not valid YAML: line" in result.stderr


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("budget", "is not KEY=VALUE"),
        ("budget.tokens=[1,", "not valid YAML"),
        ("name.sub=1", "is not a mapping"),
        ("budget.tokens=-5", "field budget.tokens"),
    ],
)
def test_bad_set_override(write_spec: Callable[..., Path], override: str, expected: str) -> None:
    result = CliRunner().invoke(main, ["plan", str(write_spec()), "--set", override])
    assert result.exit_code == 2
    assert expected in result.stderr


def test_set_override_changes_the_plan(write_spec: Callable[..., Path]) -> None:
    import json

    spec = str(write_spec())
    small = json.loads(CliRunner().invoke(main, ["plan", spec, "--json"]).output)
    big = json.loads(
        CliRunner().invoke(main, ["plan", spec, "--json", "--set", "budget.tokens=200000"]).output
    )
    assert big["jobs"] > small["jobs"]
    assert big["budget_tokens"] == 200000
