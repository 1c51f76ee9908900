"""The error tree: one root, drawn in errors.py's docstring, each class's exit code
documented in the README, and turned into that exit code at one place in the CLI."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import sdf_corpus.errors as errors
from sdf_corpus.cli._common import OneLineErrors, raise_if_stopped, user_errors
from sdf_corpus.errors import SdfError

README = Path(__file__).resolve().parents[2] / "README.md"


def _tree(cls: type[SdfError]) -> Iterator[type[SdfError]]:
    yield cls
    for sub in cls.__subclasses__():
        yield from _tree(sub)


PUBLIC = sorted(
    {c for c in _tree(SdfError) if c.__module__ == "sdf_corpus.errors"}, key=lambda c: c.__name__
)


def _readme_codes() -> set[int]:
    text = README.read_text(encoding="utf-8")
    table = text.split("### Exit codes", 1)[1].split("\n\n", 2)[1]
    return {int(m) for m in re.findall(r"^\| (\d+) \|", table, re.MULTILINE)}


def test_every_error_is_public_drawn_in_the_tree_and_its_code_documented() -> None:
    doc = errors.__doc__ or ""
    codes = _readme_codes()
    assert set(errors.__all__) == {c.__name__ for c in PUBLIC}
    for cls in PUBLIC:
        assert re.search(rf"[├└]── {cls.__name__}\b", doc) or cls is SdfError, cls
        assert cls.exit_code in codes, f"{cls.__name__} exits {cls.exit_code}: not in the README"


def _command(raise_: BaseException) -> click.Command:
    @click.command(cls=OneLineErrors)
    @user_errors
    def fails() -> None:
        raise raise_

    return fails


@pytest.mark.parametrize("cls", PUBLIC, ids=lambda c: c.__name__)
def test_the_cli_turns_each_error_into_its_exit_code_in_one_line(cls: type[SdfError]) -> None:
    error = cls.__new__(cls)
    Exception.__init__(error, "spec.yaml: field x is wrong\n(set x: 1)")
    result = CliRunner().invoke(_command(error), [])
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == cls.exit_code
    assert result.stderr.startswith(cls.prefix + "spec.yaml: field x is wrong")
    assert "Traceback" not in result.output


def test_ctrl_c_exits_130_saying_work_is_kept() -> None:
    result = CliRunner().invoke(_command(KeyboardInterrupt()), [])
    assert result.exit_code == 130
    assert "interrupted; committed work is kept" in result.stderr


@pytest.mark.parametrize(
    ("stopped", "code", "words"),
    [("max_cost", 3, "stopped: --max-cost reached"), ("ambiguous_create", 4, "re-run to adopt")],
)
def test_a_resumable_stop_ends_with_its_own_code(stopped: str, code: int, words: str) -> None:
    @click.command(cls=OneLineErrors)
    @user_errors
    def stops() -> None:
        raise_if_stopped(stopped)

    result = CliRunner().invoke(stops, [])
    assert result.exit_code == code and words in result.stderr
    raise_if_stopped("complete")  # a finished run raises nothing
