"""The `sdf-corpus` command: a thin click layer over library functions."""

from __future__ import annotations

import click

from sdf_corpus import __version__
from sdf_corpus.cli._common import OneLineErrors
from sdf_corpus.cli.augment import augment
from sdf_corpus.cli.build import build, generate
from sdf_corpus.cli.clean import clean
from sdf_corpus.cli.eval import eval_group
from sdf_corpus.cli.export import export
from sdf_corpus.cli.inspect import inspect
from sdf_corpus.cli.judge import judge
from sdf_corpus.cli.mix import mix
from sdf_corpus.cli.plan import plan
from sdf_corpus.cli.probes import probes
from sdf_corpus.cli.push import push
from sdf_corpus.cli.report import report

__all__ = ["main"]


class _Commands(OneLineErrors, click.Group):
    """The command group; option errors are one line (see OneLineErrors)."""


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sdf-corpus")
def main() -> None:
    """Build constitutional SDF training corpora: plan, generate, clean, report."""


for command in (
    plan,
    generate,
    clean,
    build,
    judge,
    report,
    inspect,
    export,
    mix,
    push,
    augment,
    probes,
    eval_group,
):
    main.add_command(command)
