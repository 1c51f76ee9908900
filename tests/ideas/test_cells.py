"""Where the pool applies, which stage it answers, and that it leaves job ids alone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sdf_corpus.ideas.cells import cell_of, group_of, idea_stage, pool_applies, pool_note
from sdf_corpus.plan.planner import iter_jobs
from sdf_corpus.spec.load import load_corpus


def test_the_pool_answers_each_genres_first_list_stage(write_spec: Callable[..., Path]) -> None:
    genres = ["blog_post", "difficult_advice", "good_mental_health_story"]
    corpus = load_corpus(write_spec(genres=genres))
    names = {g: idea_stage(corpus.genres[g], "anthropic") for g in genres}
    assert {g: s.name if s else None for g, s in names.items()} == {
        "blog_post": "idea",
        "difficult_advice": "scenario",
        "good_mental_health_story": "idea",
    }
    assert pool_applies(corpus) and "idea pool: on" in pool_note(corpus)
    # the local backend runs one document-opening stage: nothing for the pool to answer
    assert idea_stage(corpus.genres["blog_post"], "local") is None


def test_off_and_local_are_said_in_the_plan(write_spec: Callable[..., Path]) -> None:
    off = load_corpus(write_spec(ideas={"pool": False}))
    local = load_corpus(write_spec(name="local.yaml", backend={"provider": "local"}))
    assert not pool_applies(off) and "idea pool: off" in pool_note(off)
    assert not pool_applies(local) and "local backend" in pool_note(local)


def test_cells_and_groups(write_spec: Callable[..., Path]) -> None:
    corpus = load_corpus(write_spec(genres=["good_mental_health_story"]))
    job = next(iter_jobs(corpus, {"good_mental_health_story": 1}))
    assert cell_of(job) == f"good_mental_health_story/{job.principle_id}/cast"
    assert group_of(job) == "good_mental_health_story/*/cast"


def test_job_ids_do_not_depend_on_the_pool(write_spec: Callable[..., Path], tmp_path: Path) -> None:
    on = load_corpus(write_spec())
    off = load_corpus(write_spec(name="off.yaml", ideas={"pool": False, "per_request": 8}))
    genre = (Path(__file__).resolve().parents[2] / "genres" / "blog_post.yaml").read_text()
    other_ask = tmp_path / "blog_post.yaml"
    changed = genre.replace("the list, at least one author ends up", "the list, one author ends up")
    assert changed != genre  # only the pool's ask says this
    other_ask.write_text(changed)
    asked = load_corpus(write_spec(name="ask.yaml", genres=[str(other_ask), "news_article"]))
    counts = {"blog_post": 5, "news_article": 5}
    ids = [[j.id for j in iter_jobs(c, counts)] for c in (on, off, asked)]
    assert ids[0] == ids[1] == ids[2]


def test_a_machine_slice_owns_whole_pool_groups(write_spec: Callable[..., Path]) -> None:
    """With the pool, --shard slices by the job's pool group, so no cell is split over two
    machines; off, by job id as before. Job ids are the same either way."""
    from sdf_corpus.ideas.cells import slice_key

    on = load_corpus(write_spec(genres=["blog_post", "news_article"]))
    off = load_corpus(
        write_spec(name="off.yaml", genres=["blog_post", "news_article"], ideas={"pool": False})
    )
    counts = {"blog_post": 12, "news_article": 12}
    jobs = list(iter_jobs(on, counts))
    assert {slice_key(on, j) for j in jobs} == {group_of(j) for j in jobs}
    assert [slice_key(off, j) for j in iter_jobs(off, counts)] == [j.id for j in jobs]
