"""Who each genre's jobs are about: the subject or the cast, by `subject_share`."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from sdf_corpus.cli import main
from sdf_corpus.errors import SpecError
from sdf_corpus.plan.planner import allocate, iter_jobs
from sdf_corpus.plan.share import SubjectSchedule
from sdf_corpus.spec.load import load_corpus

REPO = Path(__file__).resolve().parents[2]


def test_genres_default_to_the_research_split(write_spec: Callable[..., Path]) -> None:
    corpus = load_corpus(
        write_spec(
            genres=[
                "blog_post",
                "good_mental_health_story",
                "difficult_advice",
                "agentic_transcript",
                "first_person_chat",
                "first_person_reflection",
            ]
        )
    )
    shares = {name: g.share() for name, g in corpus.genres.items()}
    assert shares == {
        "blog_post": 1.0,
        "good_mental_health_story": 0.0,
        "difficult_advice": 1.0,
        "agentic_transcript": 1.0,
        "first_person_chat": 1.0,
        "first_person_reflection": 1.0,
    }
    jobs = list(iter_jobs(corpus, {g: 40 for g in corpus.genres}))
    for job in jobs:
        expected = "cast" if job.genre == "good_mental_health_story" else "subject"
        assert job.about == expected
        assert (job.ai_id == "subject") == (expected == "subject")


@pytest.mark.parametrize("share", [0.0, 0.1, 0.3, 0.5, 0.77, 0.95, 1.0])
def test_realised_share_within_two_points_and_cells_covered_first(
    write_spec: Callable[..., Path], share: float
) -> None:
    corpus = load_corpus(
        write_spec(
            genres=["blog_post", "good_mental_health_story"],
            genre_overrides={
                "blog_post": {"subject_share": share},
                "good_mental_health_story": {"subject_share": 1 - share},
            },
        )
    )
    principles = len(corpus.constitution.principles)
    for genre, setting in (("blog_post", share), ("good_mental_health_story", 1 - share)):
        for n in (1000, 1013, 2500):
            jobs = list(iter_jobs(corpus, {genre: n}))
            realised = sum(j.about == "subject" for j in jobs) / n
            assert abs(realised - setting) <= 0.02, (genre, n, realised)
        # every (genre, principle) cell is covered before any repeats
        first = [j.principle_id for j in jobs[:principles]]
        assert len(set(first)) == principles
        # the cast rotation never repeats a name before all have been used
        cast = [j.ai_id for j in jobs if j.about == "cast"][: len(corpus.personas.ai)]
        assert len(set(cast)) == len(cast)


def test_subject_jobs_spread_over_principles(write_spec: Callable[..., Path]) -> None:
    corpus = load_corpus(
        write_spec(genres=["blog_post"], genre_overrides={"blog_post": {"subject_share": 0.5}})
    )
    jobs = list(iter_jobs(corpus, {"blog_post": 33 * 20}))
    per_principle = Counter(j.principle_id for j in jobs if j.about == "subject")
    assert len(per_principle) == 33
    assert min(per_principle.values()) >= 5  # of 20 each: no principle left to the cast


def test_plan_is_deterministic_and_raising_the_budget_keeps_jobs(
    write_spec: Callable[..., Path],
) -> None:
    overrides = {"blog_post": {"subject_share": 0.4}}
    a = load_corpus(write_spec(genre_overrides=overrides))
    b = load_corpus(write_spec(name="b.yaml", genre_overrides=overrides))
    small = list(iter_jobs(a, allocate(a, 30_000).jobs))
    assert small == list(iter_jobs(b, allocate(b, 30_000).jobs))
    big = {j.id for j in iter_jobs(a, allocate(a, 90_000).jobs)}
    assert {j.id for j in small} < big


def test_schedule_counts_agree_with_decisions() -> None:
    for share in (0.0, 0.13, 0.5, 0.9, 1.0):
        schedule = SubjectSchedule(3, "g", share, 7)
        running = 0
        for k in range(500):
            running += schedule.is_subject(k)
            assert running == schedule.before(k + 1)
            assert abs(running - (k + 1) * share) < 2


def test_subject_and_share_shape_the_job_id(write_spec: Callable[..., Path]) -> None:
    base = load_corpus(write_spec())
    renamed = load_corpus(write_spec(name="r.yaml", subject={"name": "Aster"}))
    ids = {j.id for j in iter_jobs(base, {"blog_post": 10})}
    assert ids.isdisjoint(j.id for j in iter_jobs(renamed, {"blog_post": 10}))
    excluded = load_corpus(write_spec(name="e.yaml", excluded_names=["Claude", "Nimbus"]))
    assert ids.isdisjoint(j.id for j in iter_jobs(excluded, {"blog_post": 10}))


def test_plan_json_reports_subject_share_per_genre() -> None:
    spec = REPO / "corpora" / "sdf-350m.yaml"
    args = [
        "plan",
        str(spec),
        "--json",
        "--set",
        "budget.tokens=3000000",
        "--set",
        "genre_overrides.blog_post.subject_share=0.25",
        "--set",
        "subject.name=Aster",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["subject"]["name"] == "Aster"
    for name, line in data["genres"].items():
        assert line["subject_jobs"] + line["cast_jobs"] == line["jobs"]
        assert line["subject_share_realised"] == round(line["subject_jobs"] / line["jobs"], 4)
        gap = abs(line["subject_share_realised"] - line["subject_share"])
        assert gap <= 0.02 + 1 / line["jobs"], name
    assert data["genres"]["blog_post"]["subject_share"] == 0.25
    assert data["genres"]["good_mental_health_story"]["subject_share"] == 0.0
    assert data["genres"]["news_article"]["subject_share"] == 1.0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"genre_overrides": {"blog_post": {"subject_share": 1.5}}}, "subject_share"),
        ({"genre_overrides": {"blog_post": {"about": "nobody"}}}, "about"),
        ({"subject": {"name": "  "}}, "subject.name"),
        ({"subject": {"nickname": "Al"}}, "subject.nickname"),
    ],
)
def test_bad_subject_settings_are_refused(
    write_spec: Callable[..., Path], fields: dict[str, object], message: str
) -> None:
    with pytest.raises(SpecError, match=message):
        load_corpus(write_spec(**fields))


def test_a_cast_character_named_like_the_subject_leaves_the_cast(
    write_spec: Callable[..., Path],
) -> None:
    corpus = load_corpus(write_spec(subject={"name": "Wren", "aliases": ["Amara"]}))
    names = {p.name for p in corpus.personas.ai}
    assert "Wren" not in names and "Amara" not in names
    assert len(names) == 79


def test_attachment_ablation_arms_plan_as_documented() -> None:
    import shlex

    spec = REPO / "corpora" / "attachment-ablation.yaml"
    arms = [
        shlex.split(line.split("sdf-corpus ", 1)[1])
        for line in spec.read_text().splitlines()
        if line.startswith("#   sdf-corpus build")
    ]
    assert len(arms) == 4
    seen = set()
    for arm in arms:
        assert arm[:2] == ["build", "corpora/attachment-ablation.yaml"]
        args = ["plan", str(spec), *arm[2:], "--json", "--set", "budget.tokens=400000"]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, (arm, result.output)
        data = json.loads(result.output)
        documents = {
            g: line["subject_share_realised"]
            for g, line in data["genres"].items()
            if g in ("news_article", "faq", "outside_observer_analysis")
        }
        first_person = {"first_person_reflection", "first_person_chat"} <= set(data["genres"])
        about = {round(v) for v in documents.values()}
        assert len(about) == 1  # every outside document genre the same way
        seen.add(("subject" if about == {1} else "cast", first_person))
        assert data["genres"]["good_mental_health_story"]["subject_share_realised"] == 0.0
    assert seen == {("subject", True), ("subject", False), ("cast", True), ("cast", False)}


@pytest.mark.parametrize(
    ("override", "share"),
    [
        ({}, 1.0),
        ({"about": "cast"}, 0.0),
        ({"about": "either"}, 0.5),
        ({"about": "cast", "subject_share": 0.2}, 0.2),
        ({"subject_share": 0.75}, 0.75),
    ],
)
def test_about_sets_the_default_share(
    write_spec: Callable[..., Path], override: dict[str, object], share: float
) -> None:
    corpus = load_corpus(write_spec(genres=["blog_post"], genre_overrides={"blog_post": override}))
    genre = corpus.genres["blog_post"]
    assert genre.subject_share == share and genre.share() == share
    assert genre.about == override.get("about", "subject")
