"""The pool's list request as rendered, and its answer read back into one idea per brief."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sdf_corpus.errors import SpecError
from sdf_corpus.ideas.cells import cell_of, idea_stage
from sdf_corpus.ideas.prompt import parse_items, pool_request, request_id, summary
from sdf_corpus.plan.job import Job
from sdf_corpus.plan.planner import iter_jobs
from sdf_corpus.spec.load import Corpus, load_corpus


@pytest.fixture
def corpus(write_spec: Callable[..., Path]) -> Corpus:
    spec = write_spec(genres=["blog_post", "good_mental_health_story"], subject={"name": "Halcyon"})
    return load_corpus(spec)


def _jobs(corpus: Corpus, genre: str, n: int) -> list[Job]:
    return list(iter_jobs(corpus, {genre: n}))


def _request(corpus: Corpus, jobs: list[Job], taken: list[str] | None = None) -> str:
    stage = idea_stage(corpus.genres[jobs[0].genre], "anthropic")
    assert stage is not None
    return pool_request(corpus, stage, jobs, taken or []).prompt


def test_one_principle_is_shown_once_and_every_brief_carries_its_own_draws(
    corpus: Corpus,
) -> None:
    jobs = _jobs(corpus, "blog_post", 200)
    cell = [j for j in jobs if cell_of(j) == cell_of(jobs[0])][:4]
    prompt = _request(corpus, cell)
    principle = corpus.constitution.by_id(cell[0].principle_id)
    assert prompt.count(principle.text) == 1 and "Principle: number" not in prompt
    assert "numbered list from 1 to 4" in prompt and "Brief 4:" in prompt
    assert "Brief 5:" not in prompt and "The AI in every piece is Halcyon" in prompt
    for job in cell:  # each brief: its author, its audience and every drawn attribute
        author = next(a for a in corpus.personas.authors if a.id == job.author_id)
        assert author.name in prompt and job.author_role in prompt
        for value in job.attributes.values():
            assert value in prompt
    assert corpus.genres["blog_post"].pool.ask.split()[0] in prompt  # the genre's own ask


def test_mixed_principles_are_numbered_and_each_brief_names_its_own(corpus: Corpus) -> None:
    jobs = _jobs(corpus, "blog_post", 3)
    assert len({j.principle_id for j in jobs}) == 3
    prompt = _request(corpus, jobs)
    for number, job in enumerate(jobs, start=1):
        title = corpus.constitution.by_id(job.principle_id).title
        assert f'<principle number="{number}" title="{title}">' in prompt
        brief = prompt.split(f"Brief {number}:")[1].split("Brief")[0]
        assert f"- Principle: number {number}" in brief


def test_a_cast_request_names_each_character_and_never_the_subject(corpus: Corpus) -> None:
    jobs = _jobs(corpus, "good_mental_health_story", 3)
    assert {j.about for j in jobs} == {"cast"}
    prompt = _request(corpus, jobs)
    names = {p.id: p.name for p in corpus.personas.ai}
    for number, job in enumerate(jobs, start=1):
        brief = prompt.split(f"Brief {number}:")[1].split("Brief")[0]
        assert f"- AI character: {names[job.ai_id]}" in brief
    assert "Halcyon" not in prompt and "The AI in every piece" not in prompt


def test_taken_ideas_are_shown_to_steer_away(corpus: Corpus) -> None:
    jobs = _jobs(corpus, "blog_post", 2)
    prompt = _request(corpus, jobs, ["A baker in Leith asks about flour prices."])
    assert "already holds these ideas" in prompt
    assert "- A baker in Leith asks about flour prices." in prompt
    assert "already holds" not in _request(corpus, jobs)


def test_the_request_id_changes_with_the_text_and_with_each_re_ask(corpus: Corpus) -> None:
    jobs = _jobs(corpus, "blog_post", 2)
    stage = idea_stage(corpus.genres["blog_post"], "anthropic")
    assert stage is not None
    request = pool_request(corpus, stage, jobs, [])
    first = request_id("g", request, {jobs[0].id: 0, jobs[1].id: 0})
    assert first == request_id("g", request, {jobs[1].id: 0, jobs[0].id: 0})
    assert first != request_id("g", request, {jobs[0].id: 1, jobs[1].id: 0})
    assert first != request_id("g", pool_request(corpus, stage, jobs, ["x"]), {})
    assert first.startswith("pool-") and len(first) <= 64


@pytest.mark.parametrize(
    ("text", "n", "expected"),
    [
        ("1. alpha\n2. beta\n3. gamma", 3, ["alpha", "beta", "gamma"]),
        ("1. alpha\n2. beta", 3, ["alpha", "beta", None]),  # short: the last brief re-asked
        ("1. a\n2. b\n3. c\n4. d", 3, ["a", "b", "c"]),  # long: extras ignored
        ("1. a\n3. c", 3, ["a", None, "c"]),  # a skipped number leaves its brief open
        ("0. a\n1. b\n2. c", 3, ["a", "b", "c"]),  # counted from 0: read in order
        ("1. a\n1. b\n2. c", 3, ["a", "b", "c"]),  # a repeated number: read in order
        ("2) b\n1) a", 2, ["a", "b"]),  # out of order but each number once
        ("**Brief 1:** a\n**Brief 2:** b", 2, ["a", "b"]),
        ("Here you go:\n1. a\n   more of a\n2. b", 2, ["a more of a", "b"]),
        ("```\n1. a\n2. b\n```", 2, ["a", "b"]),
        ("no list at all", 2, [None, None]),
    ],
)
def test_parse_items_maps_items_to_briefs(text: str, n: int, expected: list[str | None]) -> None:
    assert parse_items(text, n) == expected


def test_summary_is_the_first_sentence_cut_short() -> None:
    assert summary("A baker asks. Then more.") == "A baker asks."
    long = " ".join(f"w{i}" for i in range(40)) + "."
    assert summary(long, words=5) == "w0 w1 w2 w3 w4 ..."


def test_a_broken_pool_ask_fails_when_the_spec_loads(
    write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    genre = (Path(__file__).resolve().parents[2] / "genres" / "blog_post.yaml").read_text()
    broken = tmp_path / "blog_post.yaml"
    broken.write_text(genre.replace("what the AI did,", "what {{ ai.nam }} did,"))
    with pytest.raises(SpecError, match=r"pool\.ask.*no field 'nam'"):
        load_corpus(write_spec(genres=[str(broken)]))
