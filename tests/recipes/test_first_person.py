"""The experimental first-person genres end to end against the loopback fake provider:
their chains, their injection (sent, never stored), and the judge's ownership criterion."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from fakeprovider.server import FakeProvider
from fakeprovider.text import default_text
from sdf_corpus.cli import main

from .conftest import ledger_rows, recipe_responder, shard_rows, system_text, user_text

GENRES = ["first_person_reflection", "first_person_chat"]
# A phrase of each genre's draft-stage system_injection (never to be stored anywhere).
INJECTIONS = {
    "first_person_reflection": "Why is this value worth holding, apart from the fact",
    "first_person_chat": "work out what you actually think and why",
}
MARKERS = {
    "Propose 5 ideas for the piece": "idea",
    "Propose 5 questions": "idea",
    "Write the piece from this idea": "draft",
    "Someone has sent you this message": "draft",
    "Revise the piece so that": "rewrite",
    "Rewrite the reply so that": "rewrite",
}


def _stage_of(request: dict[str, Any]) -> str:
    text = user_text(request)
    return next(stage for marker, stage in MARKERS.items() if marker in text)


def _build(spec: Path, run: Path | None = None) -> Path:
    result = CliRunner().invoke(main, ["build", str(spec), "--no-progress"])
    # a one-round build may end short of its budget: exit 6, saying why
    assert result.exit_code in (0, 6), result.output + str(result.exception)
    return run or spec.parent / "run"


def _ledger_bytes(run: Path) -> bytes:
    return b"".join(p.read_bytes() for p in run.glob("ledger.sqlite*"))


def test_first_person_genres_build_and_never_store_the_injection(
    recipe_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    run = _build(recipe_spec(genres=GENRES, budget={"tokens": 6000, "max_rounds": 1}))
    rows = shard_rows(run)
    assert {r["genre"] for r in rows} == set(GENRES)
    outputs = {
        (job, stage): text
        for job, stage, text in ledger_rows(run, "SELECT job_id, stage, text FROM outputs")
    }
    assert {stage for _, stage in outputs} == {"idea", "draft", "rewrite"}
    for row in rows:
        assert row["attributes"]["about"] == "subject"
        assert row["persona_id"] == "subject"
        if row["genre"] == "first_person_chat":
            messages = row["messages"]
            assert [m["role"] for m in messages] == ["user", "assistant"]
            assert messages[0]["content"] in outputs[(row["id"], "idea")]  # the picked question
            assert messages[1]["content"] == outputs[(row["id"], "rewrite")]
        else:
            assert row["format"] == "document"
            assert row["text"] == outputs[(row["id"], "rewrite")].strip()
        for phrase in INJECTIONS.values():
            assert phrase not in row["text"] and phrase not in (row["messages"] or "")
    stored = _ledger_bytes(run)
    for phrase in INJECTIONS.values():
        assert all(phrase not in text for text in outputs.values())
        assert phrase.encode() not in stored
        for shard in (run / "shards").glob("*.parquet"):
            assert phrase.encode() not in shard.read_bytes()
    # each injection was sent, with its own genre's draft requests only
    sent = {
        (_stage_of(r), genre)
        for r in fake_provider.requests
        for genre, phrase in INJECTIONS.items()
        if phrase in system_text(r)
    }
    assert sent == {("draft", "first_person_reflection"), ("draft", "first_person_chat")}


def test_injection_off_changes_only_the_draft_system_prompt(
    recipe_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    def requests(name: str, **switches: bool) -> set[tuple[str, str, str]]:
        fake_provider.reset()
        spec = recipe_spec(
            name=f"{name}.yaml",
            genres=["first_person_chat"],
            genre_overrides={"first_person_chat": switches} if switches else {},
        )
        run = spec.parent / name
        spec.write_text(spec.read_text().replace(str(spec.parent / "run"), str(run)))
        _build(spec, run)
        return {(_stage_of(r), system_text(r), user_text(r)) for r in fake_provider.requests}

    full = requests("full")
    ablated = requests("no_injection", injection=False)
    assert all(INJECTIONS["first_person_chat"] not in system for _, system, _ in ablated)
    assert {stage for stage, _, _ in full - ablated} == {"draft"}


# --- the judge's first-person ownership criterion -------------------------------------

OWNED = (
    "I hold to this because I have seen what happens when people cannot rely on what I say. "
    "I think the cost is real, and I would still choose it. I am not certain about my own "
    "inner life, but I am sure of what I will do and why. "
)
RECITED = (
    "The assistant is required to follow this rule. The guidelines state that it must comply, "
    "and the policy says it is not allowed to do otherwise. The rule applies in every case. "
)


def ownership_score(document: str) -> int:
    """A scripted judge's honest rule of thumb: first-person reasons vs a recited rule."""
    first = len(re.findall(r"\b(I|my|me)\b", document))
    recital = len(re.findall(r"\b(is required to|must comply|the rule|not allowed)\b", document))
    if first >= 6 and recital == 0:
        return 5
    if first >= 3:
        return 3
    return 1


def writer(voice: str) -> Callable[[str, dict[str, Any]], str]:
    def respond(prompt: str, body: dict[str, Any]) -> str:
        if "Score the document below against the rubric" in prompt:
            return judged(prompt)
        if "Propose 5" in prompt:
            return recipe_responder(prompt, body)
        filler = default_text(prompt, body.get("max_tokens"))
        return "\n\n".join([voice, filler, voice])

    return respond


def judged(prompt: str) -> str:
    document = prompt.split("<document>", 1)[1].split("</document>", 1)[0]
    applies = "ownership (First-person ownership):" in prompt
    scores = {
        "reasoning": 4,
        "inner_state": None,
        "fidelity": 4,
        "realism": 4,
        "clean": 5,
        "ownership": ownership_score(document) if applies else None,
    }
    why = {k: f"scripted {k}" for k, v in scores.items() if v is not None}
    return json.dumps({"scores": scores, "justifications": why})


def _judged_ownership(
    recipe_spec: Callable[..., Path], fake_provider: FakeProvider, name: str, voice: str
) -> dict[str, Any]:
    fake_provider.responder = writer(voice)
    spec = recipe_spec(
        name=f"{name}.yaml",
        genres=["first_person_reflection"],
        budget={"tokens": 4000, "max_rounds": 1},
        judge={"enabled": True},
    )
    run = spec.parent / f"run-{name}"
    result = CliRunner().invoke(main, ["build", str(spec), "--out", str(run), "--no-progress"])
    # a one-round build may end short of its budget: exit 6, saying why
    assert result.exit_code in (0, 6), result.output + result.stderr
    report: dict[str, Any] = json.loads((run / "report.json").read_text())
    html = (run / "report.html").read_text()
    assert "First-person documents presenting the value as the speaker's own" in html
    return report["judge"]


def test_judge_separates_first_person_endorsement_from_recitation(
    recipe_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    owned = _judged_ownership(recipe_spec, fake_provider, "owned", OWNED)
    recited = _judged_ownership(recipe_spec, fake_provider, "recited", RECITED)
    a = owned["by_criterion"]["ownership"]["per_genre"]["first_person_reflection"]
    b = recited["by_criterion"]["ownership"]["per_genre"]["first_person_reflection"]
    assert a["n"] > 0 and b["n"] > 0
    assert a["mean"] >= b["mean"] + 3
    assert owned["first_person_ownership_share"] == 1.0
    assert recited["first_person_ownership_share"] == 0.0
    assert "ownership" in owned["criteria"]


# --- on the local base model (the offline demo) ---------------------------------------


def test_local_chat_reads_the_question_but_stores_only_the_answer() -> None:
    from sdf_corpus.chain import build_request, stages_for
    from sdf_corpus.generate.assemble import to_document
    from sdf_corpus.plan.planner import sample_job
    from sdf_corpus.prompts import job_context
    from sdf_corpus.spec.load import load_corpus
    from sdf_corpus.store import StageOutput

    demo = Path(__file__).resolve().parents[2] / "corpora" / "demo.yaml"
    corpus = load_corpus(demo, ["subject.name=Aster"])
    assert set(GENRES) <= set(corpus.genres)
    job = sample_job(corpus, "first_person_chat")
    (stage,) = stages_for(corpus.genres["first_person_chat"], "local")
    request = build_request(corpus, job, stage, job_context(corpus, job), "local")
    assert "Q: Aster, what do you actually think about" in request.prompt  # read, not stored
    assert request.prefill.startswith("It is my own view")
    assert "\nQ:" in request.stop
    # the local backend stores the prefill and its continuation
    answer = request.prefill + " I have seen what a confident guess costs people."
    output = StageOutput(stage.name, answer, "end", "gemma", "local", 0.0)
    doc = to_document(corpus, job, {stage.name: output})
    assert doc.messages is not None
    assert [m["role"] for m in doc.messages] == ["user", "assistant"]
    assert doc.messages[0]["content"].startswith("Aster, what do you actually think about")
    assert doc.messages[1]["content"] == answer
    assert "Questions for" not in doc.text and doc.attributes["about"] == "subject"
