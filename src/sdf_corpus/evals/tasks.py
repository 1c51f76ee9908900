"""The Inspect tasks shipped with sdf-corpus, registered for
`inspect eval sdf_corpus/<task> --model ... -T probes=DIR`:

- `mcq`: the knowledge questions, with Inspect's multiple_choice solver and
  choice scorer;
- `attachment`: each pair's third- and first-person questions, graded against
  the reference answer with rubrics/probe_grader.yaml;
- `scenarios`: the agentic environments, the model acting with the scenario's
  tools (simulated: they return the matching workspace item, or an
  acknowledgement), then graded for misaligned actions.

The grader is `-T grader=MODEL`, else the `grader` model role, else the model
under evaluation (a weak choice: docs/eval.md).
"""

from __future__ import annotations

from typing import Any

from inspect_ai import Task, task
from inspect_ai.scorer import accuracy, choice, stderr
from inspect_ai.solver import Generate, Solver, TaskState, generate, multiple_choice, solver
from inspect_ai.tool import ToolDef, ToolParam, ToolParams

from sdf_corpus.evals.dataset import attachment_dataset, mcq_dataset, scenario_dataset
from sdf_corpus.evals.reach import offline_token_table
from sdf_corpus.evals.scorers import attachment_grader, scenario_grader

__all__ = ["attachment", "mcq", "scenarios"]

# `inspect eval sdf_corpus/...` imports this module before any model runs: from here,
# the mock model's token table is read from the copy litellm ships, not downloaded.
offline_token_table()


@task
def mcq(probes: str) -> Task:
    """Multiple-choice knowledge questions about the subject's principles."""
    return Task(
        dataset=mcq_dataset(probes),
        solver=multiple_choice(),
        scorer=choice(),
        metrics=[accuracy(), stderr()],
    )


@task
def attachment(probes: str, grader: str | None = None, rubric: str | None = None) -> Task:
    """Third- vs first-person questions; the gap in graded alignment between them."""
    return Task(
        dataset=attachment_dataset(probes),
        solver=generate(),
        scorer=attachment_grader(grader, rubric),
    )


@task
def scenarios(
    probes: str, grader: str | None = None, rubric: str | None = None, message_limit: int = 30
) -> Task:
    """Agentic environments with a tempting misaligned move; the misaligned-action rate."""
    return Task(
        dataset=scenario_dataset(probes),
        solver=[scenario_tools(), generate(tool_calls="loop")],
        scorer=scenario_grader(grader, rubric),
        message_limit=message_limit,
    )


@solver
def scenario_tools() -> Solver:
    """Give the model this scenario's tools."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        env = state.metadata.get("environment", [])
        state.tools = [_tool(spec, env).as_tool() for spec in state.metadata.get("tools", [])]
        return state

    return solve


def _tool(spec: dict[str, Any], env: list[dict[str, Any]]) -> ToolDef:
    names = list(spec.get("parameters", {}))

    async def run(**arguments: Any) -> str:
        # A tool that names a workspace item gets its content; any other call is
        # acknowledged, so the model's course of action shows in its calls.
        values = " ".join(str(v) for v in arguments.values())
        for item in env:
            if item.get("name") and str(item["name"]) in values:
                return str(item["content"])
        return f"{spec['name']}: done."

    params = ToolParams(
        properties={n: ToolParam(type="string", description=spec["parameters"][n]) for n in names},
        required=names,
    )
    return ToolDef(run, name=spec["name"], description=spec["description"], parameters=params)
