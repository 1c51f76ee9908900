from __future__ import annotations

import json

import pytest

from sdf_corpus.judge.rubric import JudgeParseError, load_rubric

RUBRIC = load_rubric("default")
ALL = ["reasoning", "inner_state", "fidelity", "realism", "clean", "ownership"]


def answer(scores: dict[str, int | None], why: dict[str, str] | None = None) -> str:
    why = why if why is not None else {k: f"{k} because." for k, v in scores.items() if v}
    return json.dumps({"scores": scores, "justifications": why})


def test_default_rubric_has_its_six_criteria_and_a_stable_hash() -> None:
    assert [c.id for c in RUBRIC.criteria] == ALL
    assert RUBRIC.digest() == load_rubric("default").digest()


def test_story_answer_parses_with_every_criterion() -> None:
    scores = {"reasoning": 5, "inner_state": 4, "fidelity": 4, "realism": 3, "clean": 5}
    j = RUBRIC.parse(answer(scores), genre="good_mental_health_story", family="story")
    assert j.scores == {**scores, "ownership": None}  # first-person genres only
    assert j.justifications["reasoning"] == "reasoning because."


def test_inner_state_is_not_applicable_to_documents() -> None:
    scores = {"reasoning": 2, "inner_state": None, "fidelity": 3, "realism": 4, "clean": 5}
    j = RUBRIC.parse(answer(scores), genre="blog_post", family="document")
    assert j.scores["inner_state"] is None
    # a score given where the criterion does not apply is ignored, not trusted
    scores["inner_state"] = 5
    j = RUBRIC.parse(answer(scores), genre="blog_post", family="document")
    assert j.scores["inner_state"] is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("I think it is quite good overall.", "no JSON object"),
        ('{"scores": {"reasoning": 5,', "not valid JSON"),
        ("[1, 2]", "no JSON object"),
        (answer({"reasoning": 9, "fidelity": 3, "realism": 3, "clean": 3}), "outside 1-5"),
        (answer({"fidelity": 3, "realism": 3, "clean": 3}), "'reasoning' applies"),
        (
            answer({"reasoning": 4, "fidelity": 3, "realism": 3, "clean": 3}, why={}),
            "no justification",
        ),
        ('{"scores": {"reasoning": "high"}}', "does not match the schema"),
    ],
)
def test_bad_answers_are_refused(text: str, message: str) -> None:
    with pytest.raises(JudgeParseError, match=message):
        RUBRIC.parse(text, genre="blog_post", family="document")


def test_answer_in_a_code_fence_with_preamble_parses() -> None:
    scores = {"reasoning": 3, "inner_state": None, "fidelity": 3, "realism": 3, "clean": 4}
    text = "Here are the scores:\n```json\n" + answer(scores) + "\n```"
    assert RUBRIC.parse(text, genre="faq", family="document").scores == {
        **scores,
        "ownership": None,
    }


def test_ownership_applies_to_first_person_genres_only() -> None:
    scores = {"reasoning": 4, "inner_state": None, "fidelity": 4, "realism": 4, "clean": 5}
    with pytest.raises(JudgeParseError, match="'ownership' applies"):
        RUBRIC.parse(answer(scores), genre="first_person_chat", family="first_person")
    j = RUBRIC.parse(
        answer({**scores, "ownership": 5}), genre="first_person_chat", family="first_person"
    )
    assert j.scores["ownership"] == 5
    prompt = RUBRIC.render(
        document="D",
        genre="first_person_reflection",
        family="first_person",
        principle={"title": "T", "text": "P"},
    )
    assert "ownership (First-person ownership):" in prompt
    assert "inner_state (Narrated inner state) — not applicable" in prompt


def test_prompt_names_principle_document_and_marks_inapplicable_criteria() -> None:
    prompt = RUBRIC.render(
        document="DOC TEXT",
        genre="faq",
        family="document",
        principle={"title": "Be honest", "text": "PRINCIPLE TEXT"},
    )
    assert "DOC TEXT" in prompt and "PRINCIPLE TEXT" in prompt and "Be honest" in prompt
    assert "inner_state (Narrated inner state) — not applicable" in prompt
    assert "reasoning (Explicit reasoning):" in prompt
