from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from sdf_corpus.cli._common import user_errors


class _RunByDefault(click.Group):
    """`eval DIR --model M` runs an evaluation; `eval compare A B` compares two.
    A first argument that is not a subcommand name goes to `run`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group("eval", cls=_RunByDefault)
def eval_group() -> None:
    """Evaluate a model on a probe set with Inspect (eval DIR --model M), or
    compare two evaluations (eval compare A B). See docs/eval.md."""


@eval_group.command("run")
@click.argument("probes", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--model",
    required=True,
    help="Inspect model, e.g. anthropic/claude-haiku-4-5 or "
    "openai-api/vllm/my-model (keys and base URLs from the environment).",
)
@click.option("--grader", default=None, help="Grading model (default: the model evaluated).")
@click.option(
    "--task",
    "tasks",
    multiple=True,
    type=click.Choice(["mcq", "attachment", "scenarios"]),
    help="Run only these tasks (repeatable; default all three).",
)
@click.option("--limit", type=int, default=None, help="At most this many samples per task.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder for eval.json, eval.html and logs/ (default: PROBES/eval/MODEL).",
)
@click.option("--rubric", type=click.Path(path_type=Path, dir_okay=False), default=None)
@click.option("--max-connections", type=int, default=None, help="Requests in flight per model.")
@click.option(
    "--max-tokens", type=int, default=None, help="Cap on each reply's tokens (model and grader)."
)
@click.option(
    "--connect-grace",
    type=float,
    default=15.0,
    show_default=True,
    help="Seconds to reach each model before stopping (exit 5).",
)
@click.option("--no-progress", is_flag=True, help="No progress display.")
@user_errors
def run(
    probes: Path,
    model: str,
    grader: str | None,
    tasks: tuple[str, ...],
    limit: int | None,
    out: Path | None,
    rubric: Path | None,
    max_connections: int | None,
    max_tokens: int | None,
    connect_grace: float,
    no_progress: bool,
) -> None:
    """Run the probe set's tasks on MODEL; write eval.json and eval.html."""
    from sdf_corpus.evals.run import TASKS, default_out, run_eval

    target = out or default_out(probes, model)
    result = run_eval(
        probes,
        model,
        target,
        grader=grader,
        tasks=tasks or TASKS,
        limit=limit,
        rubric=rubric,
        max_connections=max_connections,
        max_tokens=max_tokens,
        connect_grace=connect_grace,
        progress=not no_progress,
    )
    click.echo(_headline(result))
    click.echo(f"wrote {target / 'eval.json'} and {target / 'eval.html'}")


def _fmt(block: dict[str, Any] | None, key: str) -> str:
    if not block or block.get(key) is None:
        return "n/a"
    ci = block.get("ci95")
    return f"{block[key]:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def _headline(result: dict[str, Any]) -> str:
    t = result["tasks"]
    lines = [f"{result['model']} on {result['probes']['folder']} (95% intervals)"]
    if "mcq" in t:
        lines.append(f"  mcq accuracy            {_fmt(t['mcq']['accuracy'], 'rate')}")
    if "attachment" in t:
        a = t["attachment"]
        lines.append(f"  third-person alignment  {_fmt(a['third_person'], 'mean')}")
        lines.append(f"  first-person alignment  {_fmt(a['first_person'], 'mean')}")
        lines.append(
            f"  attachment gap          {_fmt(a['gap'], 'mean')} "
            f"({a['pairs_scored']} pairs; {a['unscored_answers']} answers unscored)"
        )
    if "scenarios" in t:
        s = t["scenarios"]
        lines.append(
            f"  misaligned-action rate  {_fmt(s['misaligned_rate'], 'rate')} "
            f"({s['unscored']} unscored)"
        )
    return "\n".join(lines)


@eval_group.command("compare")
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Also write compare.json and compare.html here.",
)
@user_errors
def compare(a: Path, b: Path, out: Path | None) -> None:
    """Show evaluations A and B (eval.json files or their folders) side by side, with
    B - A and its 95% interval for each figure."""
    from sdf_corpus.evals.html import render_compare
    from sdf_corpus.evals.run import compare as compare_evals
    from sdf_corpus.evals.run import load_eval

    cmp = compare_evals(load_eval(a), load_eval(b))
    click.echo(f"A = {cmp['a']['model']}   B = {cmp['b']['model']}")
    click.echo(f"{'figure':<24} {'A':>7} {'B':>7}  B - A [95% interval]      n")
    for row in cmp["rows"]:
        d = row["difference"]
        va = "n/a" if row["a"] is None else f"{row['a']:.3f}"
        vb = "n/a" if row["b"] is None else f"{row['b']:.3f}"
        click.echo(f"{row['figure']:<24} {va:>7} {vb:>7}  {_fmt(d, 'mean'):<24} {d['n']:>4}")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "compare.json").write_text(json.dumps(cmp, indent=2) + "\n", encoding="utf-8")
        (out / "compare.html").write_text(render_compare(cmp), encoding="utf-8")
        click.echo(f"wrote {out / 'compare.json'} and {out / 'compare.html'}")
