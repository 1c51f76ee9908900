"""The `sdf-corpus` command: a thin click layer over library functions."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

from sdf_corpus import __version__
from sdf_corpus.cli.augment import augment
from sdf_corpus.cli.build import build, generate
from sdf_corpus.cli.clean import clean
from sdf_corpus.cli.export import export
from sdf_corpus.cli.inspect import inspect
from sdf_corpus.cli.judge import judge
from sdf_corpus.cli.plan import plan
from sdf_corpus.cli.report import report

__all__ = ["main"]

_SHOWS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


class _Commands(click.Group):
    """A group whose option errors are one line, like every other user error.

    click prints a usage block, a hint and the error on three lines; a bad option
    is bad input like any other, so it gets the same `error: WHERE: PROBLEM (FIX)`
    line and exit code 2.
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


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sdf-corpus")
def main() -> None:
    """Build constitutional SDF training corpora: plan, generate, clean, report."""


for command in (plan, generate, clean, build, judge, report, inspect, export, augment):
    main.add_command(command)
