"""Shared CLI plumbing: spec options and the one place user errors become exit codes."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from sdf_corpus.errors import (
    AmbiguousCreateError,
    BudgetError,
    InputError,
    Interrupted,
    ProviderError,
    SdfError,
)

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


def raise_if_stopped(stopped: str) -> None:
    """End a command whose run stopped early but resumably (--max-cost, a batch create
    with no answer) with that stop's error: committed work is kept, a re-run continues."""
    if stopped == "ambiguous_create":
        raise AmbiguousCreateError(
            "a batch create got no answer; re-run to adopt it (or resubmit its requests "
            "if it was never created)"
        )
    if stopped == "max_cost":
        raise BudgetError("--max-cost reached; re-run with a higher limit to continue")


def user_errors(func: F) -> F:
    """The one place an error becomes an exit code: an SdfError (provider errors
    included) prints as one line on stderr and exits with its class's `exit_code`;
    Ctrl-C exits 130. Never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KeyboardInterrupt:
            error: SdfError = Interrupted("interrupted; committed work is kept")
        except SdfError as exc:
            error = exc
        except OSError as exc:
            if exc.filename is None:
                raise
            # The folder checks run first; this is the net for what they cannot foresee
            # (a disk that fills up, a file made read-only mid-run).
            where = exc.filename if exc.filename2 is None else f"{exc.filename} -> {exc.filename2}"
            error = InputError(
                where, str(exc.strerror), "check the path, its permissions and free space"
            )
        message = str(error)
        if isinstance(error, ProviderError):
            message = " ".join(message.split())  # a provider's text may span lines
        click.echo(f"{error.prefix}{message}", err=True)
        sys.exit(error.exit_code)

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
