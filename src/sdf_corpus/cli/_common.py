"""Shared CLI plumbing: spec options and the one place user errors become exit codes."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from sdf_corpus.errors import SdfError

F = TypeVar("F", bound=Callable[..., Any])
_SHOWS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


class OneLineErrors(click.Command):
    """Option errors as one line, like every other user error.

    click prints a usage block, a hint and the error on three lines; a bad option
    is bad input like any other, so it gets the same `error: WHERE: PROBLEM (FIX)`
    line and exit code 2. Used by the group and by every command, so a command
    invoked on its own (from Python or a test) behaves the same.
    """

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as exc:
            if isinstance(exc, _SHOWS_HELP):
                exc.show()
            else:
                command = exc.ctx.command_path if exc.ctx else "sdf-corpus"
                message = exc.format_message().replace("\n", " ")
                click.echo(f"error: {command}: {message} (see {command} --help)", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        # without standalone mode click returns ctx.exit(N)'s code instead of exiting
        sys.exit(code if isinstance(code, int) else 0)


def user_errors(func: F) -> F:
    """Print an SdfError as one line on stderr and exit with its code; no traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SdfError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except OSError as exc:
            if exc.filename is None:
                raise
            # The folder checks run first; this is the net for what they cannot foresee
            # (a disk that fills up, a file made read-only mid-run).
            where = exc.filename if exc.filename2 is None else f"{exc.filename} -> {exc.filename2}"
            click.echo(
                f"error: {where}: {exc.strerror} (check the path, its permissions and free space)",
                err=True,
            )
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def spec_options(func: F) -> F:
    func = click.option(
        "--set",
        "overrides",
        multiple=True,
        metavar="KEY=VALUE",
        help="Override a spec field (dotted key, YAML value), e.g. --set budget.tokens=5000.",
    )(func)
    func = click.option(
        "--out",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        help="Run directory (overrides the spec's `output`).",
    )(func)
    return click.argument("spec", type=click.Path(path_type=Path, dir_okay=False))(func)
