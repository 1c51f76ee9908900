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

# name -> "module:function" under sdf_corpus.cli, in the order `--help` lists them:
# the flow's order.
_COMMANDS = {
    "plan": "plan:plan",
    "generate": "build:generate",
    "merge": "merge:merge",
    "clean": "clean:clean",
    "build": "build:build",
    "judge": "judge:judge",
    "report": "report:report",
    "inspect": "inspect:inspect",
    "export": "export:export",
    "mix": "mix:mix",
    "push": "push:push",
    "augment": "augment:augment",
    "probes": "probes:probes",
    "eval": "eval:eval_group",
}


class _LazyGroup(OneLineErrors, click.Group):
    """click's documented lazy-loading pattern: import a subcommand on first use.
    Option errors are one line (see OneLineErrors)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*_COMMANDS, *(c for c in super().list_commands(ctx) if c not in _COMMANDS)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _COMMANDS:
            return super().get_command(ctx, cmd_name)
        module_name, attr = _COMMANDS[cmd_name].split(":")
        command = getattr(importlib.import_module(f"sdf_corpus.cli.{module_name}"), attr)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sdf-corpus")
def main() -> None:
    """Build constitutional SDF training corpora: plan, generate, clean, report."""
