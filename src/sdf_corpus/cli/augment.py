"""`sdf-corpus augment`: add tool definitions and deployment system prompts to chat data."""

from __future__ import annotations

import re
from pathlib import Path

import click

from sdf_corpus.cli._common import OneLineErrors, user_errors

_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+))?\s*$")


def _tool_range(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, int]:
    match = _RANGE.match(value)
    if not match:
        raise click.BadParameter("give a count or a range such as 2-6")
    lo = int(match[1])
    hi = int(match[2]) if match[2] else lo
    if lo > hi:
        raise click.BadParameter(f"{value}: the range must run from low to high")
    return lo, hi


@click.command(cls=OneLineErrors)
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Folder for augmented.jsonl.",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Same seed and input give the same output.",
)
@click.option(
    "--tools-per-conv",
    "tools",
    default="2-6",
    show_default=True,
    callback=_tool_range,
    help="Tool definitions added per conversation (N or A-B).",
)
@click.option(
    "--system-prompt-rate",
    type=click.FloatRange(0.0, 1.0),
    default=0.9,
    show_default=True,
    help="Share of conversations given a deployment system prompt.",
)
@user_errors
def augment(
    input_path: Path, out: Path, seed: int, tools: tuple[int, int], system_prompt_rate: float
) -> None:
    """Add unused tool definitions and varied system prompts to a chat JSONL file.

    INPUT is JSONL with a `messages` list per line; user and assistant turns are
    left exactly as they are. See docs/recipes.md.
    """
    from sdf_corpus.recipes.augment import AugmentOptions, augment_file
    from sdf_corpus.report.terminal import count

    options = AugmentOptions(
        seed=seed, tools_min=tools[0], tools_max=tools[1], system_prompt_rate=system_prompt_rate
    )
    result = augment_file(input_path, out, options)
    click.echo(
        f"augmented {count(result.conversations, 'conversation')} "
        f"({result.with_system_prompt:,} with a system prompt, "
        f"{count(result.tools_added, 'tool definition')} added) -> {result.path}"
    )
