"""Shared CLI plumbing: spec options and the one place user errors become exit codes."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from sdf_corpus.errors import SdfError

F = TypeVar("F", bound=Callable[..., Any])


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
