"""One rule for paths: spec and --set paths resolve against the spec file's folder; paths
given as CLI options resolve against the working directory; "not found" names the path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from sdf_corpus.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp/specs/spec.yaml with tmp/specs/mine.yaml beside it; the working directory: tmp/work."""
    specs, work = tmp_path / "specs", tmp_path / "work"
    specs.mkdir()
    work.mkdir()
    genre = yaml.safe_load((REPO / "genres" / "faq.yaml").read_text(encoding="utf-8"))
    genre["name"] = "mine"
    (specs / "mine.yaml").write_text(yaml.safe_dump(genre), encoding="utf-8")
    spec = {
        "name": "paths",
        "constitution": str(REPO / "constitution" / "example.md"),
        "genres": ["faq"],
        "personas": str(REPO / "personas"),
        "budget": {"tokens": 3000},
        "backend": {"provider": "anthropic", "model": "claude-haiku-4-5"},
        "output": "runs/paths",
    }
    (specs / "spec.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    monkeypatch.chdir(work)
    return tmp_path


def test_set_paths_resolve_against_the_spec_file(layout: Path) -> None:
    result = CliRunner().invoke(
        main, ["plan", "../specs/spec.yaml", "--json", "--set", "genres=[mine.yaml]"]
    )
    assert result.exit_code == 0, result.stderr
    assert list(json.loads(result.stdout)["genres"]) == ["mine"]


def test_set_path_not_found_names_the_path_it_tried(layout: Path) -> None:
    (layout / "work" / "other.yaml").write_text("name: other\n", encoding="utf-8")
    result = CliRunner().invoke(
        main, ["plan", "../specs/spec.yaml", "--set", "genres=[other.yaml]"]
    )
    assert result.exit_code == 2
    assert str(layout / "specs" / "other.yaml") in result.stderr  # not the working directory's
    assert "resolve against the spec file" in result.stderr


def test_option_paths_resolve_against_the_working_directory(layout: Path) -> None:
    from sdf_corpus.spec.load import load_corpus

    spec = Path("../specs/spec.yaml")
    assert load_corpus(spec).run_dir == layout / "specs" / "runs" / "paths"  # spec's `output`
    assert load_corpus(spec, out=Path("here")).run_dir == layout / "work" / "here"  # --out


def test_missing_spec_names_the_absolute_path(layout: Path) -> None:
    result = CliRunner().invoke(main, ["plan", "nope/spec.yaml"])
    assert result.exit_code == 2
    assert str(layout / "work" / "nope" / "spec.yaml") in result.stderr
