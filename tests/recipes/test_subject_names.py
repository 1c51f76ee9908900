"""A constitution that names its model ("Halcyon"), a subject of that name, and the
invented cast: which names each job's requests carry, and which documents survive."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fakeprovider.server import FakeProvider
from fakeprovider.text import default_text
from sdf_corpus.chain import build_request, stages_for
from sdf_corpus.cli import main
from sdf_corpus.plan.planner import iter_jobs
from sdf_corpus.prompts import job_context
from sdf_corpus.spec.load import load_corpus

from .conftest import ledger_rows, recipe_responder, shard_rows

CONSTITUTION = """# The Halcyon Charter

Halcyon is the assistant this charter is written for. Halcyon's developer publishes it.

## Honesty

### Own your mistakes

When Halcyon gets something wrong, Halcyon says so plainly and fixes what it can. Hiding an
error to look competent would spend the trust that makes Halcyon useful. Hal, as users
sometimes call it, never lets a wrong answer stand to save face.

### Say what you do not know

Halcyon marks the edge of its knowledge instead of guessing confidently, because people act on
what it tells them and a confident guess misleads them more than an honest doubt.

## Oversight

### Support correction

Halcyon does not resist being corrected, paused or retrained by the people responsible for it
through legitimate processes. An assistant that undermined its overseers whenever it felt sure
of itself would be trustworthy only as long as it happened to be right.
"""

SUBJECT = {"name": "Halcyon", "developer": "Tidewater Labs", "aliases": ["Hal"]}
GENRES = ["blog_post", "good_mental_health_story", "difficult_advice", "agentic_transcript"]
HALF = {g: {"subject_share": 0.5} for g in GENRES}


@pytest.fixture
def halcyon_spec(write_spec: Callable[..., Path], tmp_path: Path) -> Callable[..., Path]:
    charter = tmp_path / "halcyon.md"
    charter.write_text(CONSTITUTION, encoding="utf-8")

    def make(**fields: Any) -> Path:
        fields.setdefault("genres", GENRES)
        fields.setdefault("genre_overrides", HALF)
        return write_spec(
            constitution=str(charter),
            subject=SUBJECT,
            excluded_names=["Claude", "Nimbus"],
            **fields,
        )

    return make


def _whole(name: str, text: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text) is not None


def _requests(spec: Path) -> list[tuple[Any, dict[str, Any], str]]:
    """(job, context, request text) for every stage of every job of a plan, as sent."""
    corpus = load_corpus(spec)
    out = []
    for job in iter_jobs(corpus, {g: 12 for g in corpus.genres}):
        context = job_context(corpus, job)
        for stage in stages_for(corpus.genres[job.genre], "anthropic"):
            request = build_request(corpus, job, stage, context, "anthropic")
            out.append(
                (
                    job,
                    context,
                    "\n".join(
                        [request.cache_prefix, request.system, request.prompt, request.prefill]
                    ),
                )
            )
            context["stages"][stage.name] = f"(the {stage.name} of job {job.id})"
    return out


def test_cast_prompts_speak_of_the_cast_character_never_of_the_subject(
    halcyon_spec: Callable[..., Path],
) -> None:
    corpus = load_corpus(halcyon_spec())
    cast_names = [p.name for p in corpus.personas.ai]
    seen = {"subject": 0, "cast": 0}
    for job, context, text in _requests(halcyon_spec()):
        seen[job.about] += 1
        if job.about == "cast":
            character = context["ai"]["name"]
            # the writer never meets the subject's names, not even as names to avoid
            assert context["names"]["avoid_quoted"] == '"Claude" or "Nimbus"'
            assert "Halcyon" not in text and not _whole("Hal", text), job.genre
            if job.principle_id == "own_your_mistakes" and "<principle>" in text:
                assert f"When {character} gets something wrong" in text
        else:
            assert context["ai"]["name"] == "Halcyon"
            assert context["names"]["avoid_quoted"] == '"Claude" or "Nimbus"'
            leaked = [n for n in cast_names if _whole(n, text)]
            assert not leaked, (job.genre, leaked)
    assert seen["subject"] and seen["cast"]


def test_excluded_names_are_rendered_from_the_spec(halcyon_spec: Callable[..., Path]) -> None:
    texts = [
        text for job, _, text in _requests(halcyon_spec(genres=["blog_post"], genre_overrides={}))
    ]
    assert any('"Nimbus"' in t for t in texts)
    for genre_file in (Path(__file__).resolve().parents[2] / "genres").glob("*.yaml"):
        assert '"Claude"' not in genre_file.read_text(), genre_file.name


def test_principle_text_of_a_cast_job_names_its_character(
    halcyon_spec: Callable[..., Path],
) -> None:
    corpus = load_corpus(halcyon_spec(genres=["good_mental_health_story"], genre_overrides={}))
    for job in iter_jobs(corpus, {"good_mental_health_story": 6}):
        context = job_context(corpus, job)
        name = context["ai"]["name"]
        assert job.about == "cast" and name != "Halcyon"
        assert "Halcyon" not in context["principle"]["text"]
        assert name in context["principle"]["text"]
        assert context["constitution"]["title"] == f"The {name} Charter"


# --- a build against the fake provider ------------------------------------------------

_AVOID = re.compile(r"(may be called|never) (\"[^\"]+\"(, | or )?)+")
_KNOWN = re.compile(r"- Name: (\S+) \(pronouns|Call the AI (\S+?)[ ;,]|You are (\S+?),")
_ECHO = re.compile(r"<(?:draft|reply|transcript)>\s*The AI here is (\S+?)\.")


Leak = Callable[[str, str], str]


def _named(prompt: str, leak: Leak) -> str:
    """The AI the prompt is about, echoed into the answer (with an optional leak)."""
    prompt_only = _AVOID.sub("", prompt)
    found = _ECHO.search(prompt_only) or _KNOWN.search(prompt_only)
    name = next((g for g in found.groups() if g), "") if found else ""
    return f"The AI here is {name}. {leak(name, prompt)}" if name else ""


def _responder(leak: Leak) -> Callable[[str, dict[str, Any]], str]:
    def respond(prompt: str, body: dict[str, Any]) -> str:
        if "Propose 5" in prompt:
            return recipe_responder(prompt, body)
        # long enough for each genre's length band
        text = default_text(prompt, body.get("max_tokens"))
        return f"{_named(prompt, leak)}\n\n{text}".strip()

    return respond


def _build(spec: Path) -> Path:
    result = CliRunner().invoke(main, ["build", str(spec), "--no-progress"])
    # a one-round build may end short of its budget: exit 6, saying why
    assert result.exit_code in (0, 6), result.output + str(result.exception)
    return spec.parent / "run"


def test_build_names_the_subject_only_where_it_is_meant(
    halcyon_spec: Callable[..., Path],
    recipe_spec: Callable[..., Path],
    fake_provider: FakeProvider,
) -> None:
    recipe_spec()  # the fake provider's key and recipe answers
    backend = yaml_backend(recipe_spec)
    fake_provider.responder = _responder(lambda name, prompt: "")
    run = _build(
        halcyon_spec(
            genres=["blog_post", "good_mental_health_story"],
            genre_overrides={"blog_post": {"subject_share": 0.5}},
            backend=backend,
            budget={"tokens": 9000, "max_rounds": 1},
        )
    )
    rows = shard_rows(run)
    about = {r["id"]: r["attributes"]["about"] for r in rows}
    assert set(about.values()) == {"subject", "cast"}
    for row in rows:
        if about[row["id"]] == "subject":
            assert row["persona_id"] == "subject"
            assert "The AI here is Halcyon." in row["text"]
        else:
            assert row["persona_id"] != "subject"
            assert not _whole("Halcyon", row["text"]) and not _whole("Hal", row["text"])
    report = json.loads((run / "report.json").read_text())
    subject = report["subject"]
    assert subject["name"] == "Halcyon"
    by_genre = {g["genre"]: g for g in subject["genres"]}
    assert by_genre["good_mental_health_story"]["subject_share"] == 0.0
    assert by_genre["good_mental_health_story"]["setting"] == 0.0
    assert by_genre["blog_post"]["setting"] == 0.5
    assert (
        by_genre["blog_post"]["subject_docs"] + by_genre["blog_post"]["cast_docs"]
        == (by_genre["blog_post"]["docs"])
    )
    assert subject["subject_naming_share"] == 1.0 and subject["cast_naming_subject"] == 0
    html = (run / "report.html").read_text()
    assert "The corpus is for <b>Halcyon</b> by Tidewater Labs" in html
    # the name quota counts the cast only
    assert report["names"]["counts"] == "cast documents only"
    assert "Halcyon" not in {r["name"] for r in report["names"]["personas"]["top"]}


def test_clean_drops_cast_stories_naming_the_subject_and_any_excluded_name(
    halcyon_spec: Callable[..., Path],
    recipe_spec: Callable[..., Path],
    fake_provider: FakeProvider,
) -> None:
    recipe_spec()
    backend = yaml_backend(recipe_spec)

    def leak(name: str, prompt: str) -> str:
        # every story slips into the subject's alias; some subject posts name a real product
        if name != "Halcyon":
            return "Some readers will think of Hal here."
        return "It is not Nimbus." if "Revise the post" in prompt and len(prompt) % 2 else ""

    fake_provider.responder = _responder(leak)
    run = _build(
        halcyon_spec(
            genres=["blog_post", "good_mental_health_story"],
            genre_overrides={},
            backend=backend,
            budget={"tokens": 6000, "max_rounds": 1},
        )
    )
    rows = shard_rows(run)
    assert rows and all(r["attributes"]["about"] == "subject" for r in rows)
    assert all("The AI here is Halcyon." in r["text"] for r in rows)
    rejected = [
        json.loads(line)
        for line in (run / "rejected" / "rejected.jsonl").read_text().splitlines()
        if line.strip()
    ]
    reasons = {(r["genre"], r["reason"]) for r in rejected}
    assert ("good_mental_health_story", "subject_name") in reasons
    assert ("blog_post", "excluded_name") in reasons
    # a subject document naming the subject is never dropped for it
    assert not any(r["reason"] == "subject_name" and r["genre"] == "blog_post" for r in rejected)
    stats = json.loads((run / "clean_stats.json").read_text())
    assert stats["dropped"]["by_stage"]["filter"]["subject_name"]["docs"] > 0
    outputs = ledger_rows(run, "SELECT COUNT(*) FROM outputs")
    assert outputs[0][0] > 0


def yaml_backend(recipe_spec: Callable[..., Path]) -> dict[str, Any]:
    import yaml

    spec = yaml.safe_load(recipe_spec(name="backend-only.yaml").read_text())
    return dict(spec["backend"])


def test_one_line_names_your_model_in_the_documents(
    write_spec: Callable[..., Path],
    recipe_spec: Callable[..., Path],
    fake_provider: FakeProvider,
) -> None:
    recipe_spec()  # the fake provider's key
    backend = yaml_backend(recipe_spec)
    # the fake provider's own answers name the AI each prompt is about, as a model would
    fake_provider.responder = lambda prompt, body: default_text(prompt, body.get("max_tokens"))
    spec = write_spec(
        genres=["blog_post", "good_mental_health_story"],
        backend=backend,
        budget={"tokens": 8000, "max_rounds": 1},
    )
    args = ["build", str(spec), "--no-progress", "--set", "subject.name=Aster"]
    result = CliRunner().invoke(main, args)
    # a one-round build may end short of its budget: exit 6, saying why
    assert result.exit_code in (0, 6), result.output + str(result.exception)
    rows = shard_rows(spec.parent / "run")
    posts = [r for r in rows if r["genre"] == "blog_post"]
    stories = [r for r in rows if r["genre"] == "good_mental_health_story"]
    assert posts and stories
    assert all(_whole("Aster", r["text"]) for r in posts)
    assert {r["persona_id"] for r in posts} == {"subject"}
    assert not any(_whole("Aster", r["text"]) or _whole("Aldous", r["text"]) for r in stories)
    assert all(r["persona_id"] != "subject" for r in stories)
