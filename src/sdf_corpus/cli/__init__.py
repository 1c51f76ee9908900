"""The `sdf-corpus` command: a thin click layer over library functions.

Subcommands are imported when they are run, not at start-up: `sdf-corpus clean`
should not pay for importing the generation SDK stack, the report's charts or
the judge (about a third of a second per run).
"""

from __future__ import annotations

import importlib

import click

from sdf_corpus import __version__
from sdf_corpus.cli._common import OneLineErrors

__all__ = ["main"]

# name -> module under sdf_corpus.cli that defines it (as a function of that name),
# in the order `--help` lists them: the flow's order.
_COMMANDS = {
    "plan": "plan",
    "generate": "build",
    "merge": "merge",
    "clean": "clean",
    "build": "build",
    "judge": "judge",
    "report": "report",
    "inspect": "inspect",
    "export": "export",
    "mix": "mix",
    "push": "push",
    "augment": "augment",
}


class _LazyGroup(OneLineErrors, click.Group):
    """click's documented lazy-loading pattern: import a subcommand on first use.
    Option errors are one line (see OneLineErrors)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*_COMMANDS, *(c for c in super().list_commands(ctx) if c not in _COMMANDS)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _COMMANDS:
            return super().get_command(ctx, cmd_name)
        module = importlib.import_module(f"sdf_corpus.cli.{_COMMANDS[cmd_name]}")
        command = getattr(module, cmd_name)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sdf-corpus")
def main() -> None:
    """Build constitutional SDF training corpora: plan, generate, clean, report."""
