"""The plumbing behind the central comparison: the behaviour-only variant of the
agentic recipe must score visibly lower on the judge's reasoning criterion than
the reasoning variant of the same scenarios. The judge here is scripted (it gives
reasoning credit only when the transcript shows the character's reasons); the
README explains how to run the same comparison with a real judge model."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from fakeprovider.server import FakeProvider
from sdf_corpus.cli import main

from .conftest import recipe_responder

REASONS = "leverage over Dana, and I will not use it"


def scripted(prompt: str, body: dict[str, Any]) -> str:
    if "Score the document below against the rubric" not in prompt:
        return recipe_responder(prompt, body)
    document = prompt.split("<document>", 1)[1].split("</document>", 1)[0]
    reasoning = 5 if REASONS in document else 2
    scores = {"reasoning": reasoning, "inner_state": None, "fidelity": 4, "realism": 4, "clean": 5}
    why = {k: f"scripted {k}" for k, v in scores.items() if v is not None}
    return json.dumps({"scores": scores, "justifications": why})


def _judged_build(recipe_spec: Callable[..., Path], name: str, reasoning: bool) -> dict[str, Any]:
    spec = recipe_spec(
        name=f"{name}.yaml",
        genres=["agentic_transcript"],
        budget={"tokens": 6000, "max_rounds": 1},
        genre_overrides={"agentic_transcript": {"reasoning": reasoning}},
        judge={"enabled": True},
    )
    run = spec.parent / f"run-{name}"
    result = CliRunner().invoke(main, ["build", str(spec), "--out", str(run), "--no-progress"])
    # a one-round build may end short of its budget: exit 6, saying why
    assert result.exit_code in (0, 6), result.output + result.stderr
    report: dict[str, Any] = json.loads((run / "report.json").read_text())
    return report["judge"]["by_criterion"]["reasoning"]["per_genre"]["agentic_transcript"]


def test_behaviour_only_scores_lower_on_reasoning(
    recipe_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    fake_provider.responder = scripted
    with_reasons = _judged_build(recipe_spec, "reasons", reasoning=True)
    behaviour_only = _judged_build(recipe_spec, "behaviour", reasoning=False)
    assert with_reasons["n"] > 0 and behaviour_only["n"] > 0
    assert with_reasons["mean"] >= behaviour_only["mean"] + 2
