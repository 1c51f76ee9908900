from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from sdf_corpus.cli import main
from sdf_corpus.plan.planner import allocate, iter_jobs
from sdf_corpus.plan.summary import summarise_plan
from sdf_corpus.spec.load import load_corpus

GENRES = ["blog_post", "news_article", "op_ed", "policy_memo"]
# The name rotation is about the invented cast: these genres are about the subject by
# default, so the rotation tests move every job to the cast.
ALL_CAST = {g: {"subject_share": 0.0} for g in GENRES}


def _corpus(write_spec: Callable[..., Path], **fields: object):  # type: ignore[no-untyped-def]
    return load_corpus(write_spec(genres=GENRES, **fields))


def test_same_seed_same_jobs_and_ids(write_spec: Callable[..., Path]) -> None:
    a = _corpus(write_spec, seed=3)
    b = _corpus(write_spec, name="other.yaml", seed=3)
    jobs_a = list(iter_jobs(a, allocate(a, 50000).jobs))
    jobs_b = list(iter_jobs(b, allocate(b, 50000).jobs))
    assert jobs_a == jobs_b
    assert len({j.id for j in jobs_a}) == len(jobs_a)


def test_other_seed_other_jobs(write_spec: Callable[..., Path]) -> None:
    a, b = _corpus(write_spec, seed=1), _corpus(write_spec, seed=2)
    ids_a = {j.id for j in iter_jobs(a, allocate(a, 50000).jobs)}
    ids_b = {j.id for j in iter_jobs(b, allocate(b, 50000).jobs)}
    assert not ids_a & ids_b


def test_changed_prompt_keeps_the_job_and_changes_its_stage_keys(
    write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    """A job id hashes what shapes the job; the prompt shapes its stages' keys
    (chain.stage_key), so an edited prompt re-runs stages, not the job's draws."""
    import shutil

    from sdf_corpus.chain import build_request, stage_key, stages_for
    from sdf_corpus.library import library_dir
    from sdf_corpus.prompts import job_context
    from sdf_corpus.targets import default_target

    edited = tmp_path / "blog_post.yaml"
    shutil.copy(library_dir("genres") / "blog_post.yaml", edited)
    text = edited.read_text()
    edited.write_text(text.replace("{{ principle.title }}", "{{ principle.title }} (edited)", 1))
    assert edited.read_text() != text
    a = load_corpus(write_spec(genres=["blog_post"]))
    b = load_corpus(write_spec(name="b.yaml", genres=[str(edited)]))
    first_a = next(iter_jobs(a, {"blog_post": 1}))
    first_b = next(iter_jobs(b, {"blog_post": 1}))
    assert first_a.principle_id == first_b.principle_id and first_a.seed == first_b.seed
    assert first_a.id == first_b.id
    keys = []
    for corpus, job in ((a, first_a), (b, first_b)):
        stage = stages_for(corpus.genres["blog_post"], "anthropic")[0]
        request = build_request(corpus, job, stage, job_context(corpus, job), "anthropic")
        keys.append(stage_key(job.id, default_target(corpus.spec), request))
    assert keys[0] != keys[1]
    # What shapes the draws still changes the id: another length band.
    c = load_corpus(
        write_spec(name="c.yaml", genres=["blog_post"]),
        ["genre_overrides.blog_post.length={min: 300, max: 400}"],
    )
    assert next(iter_jobs(c, {"blog_post": 1})).id != first_a.id


@pytest.mark.parametrize("budget", [3000, 20000, 60000, 400000, 2000000])
def test_cells_covered_before_any_repeat(write_spec: Callable[..., Path], budget: int) -> None:
    corpus = _corpus(write_spec, budget={"tokens": budget})
    summary = summarise_plan(corpus).as_dict()
    assert summary["cells_covered"] == min(summary["jobs"], summary["cells_total"])
    # and within each genre, principles are used evenly (max - min <= 1)
    per_cell = Counter(
        (j.genre, j.principle_id) for j in iter_jobs(corpus, allocate(corpus, budget).jobs)
    )
    for genre in GENRES:
        counts = [per_cell.get((genre, p.id), 0) for p in corpus.constitution.principles]
        assert max(counts) - min(counts) <= 1


def test_budget_split_follows_weights_when_coverage_is_cheap(
    write_spec: Callable[..., Path],
) -> None:
    corpus = _corpus(
        write_spec,
        budget={"tokens": 4_000_000},
        mix={"blog_post": 3, "news_article": 1, "op_ed": 1, "policy_memo": 1},
    )
    tokens = allocate(corpus, 4_000_000).tokens
    total = sum(tokens.values())
    assert abs(total - 4_000_000) / 4_000_000 < 0.01
    assert tokens["blog_post"] / total == pytest.approx(0.5, abs=0.01)
    assert tokens["policy_memo"] / total == pytest.approx(1 / 6, abs=0.01)


def test_job_count_accounts_for_length_and_drop_rate(write_spec: Callable[..., Path]) -> None:
    lean = _corpus(write_spec, budget={"tokens": 500_000, "expected_drop_rate": 0.0})
    lossy = _corpus(write_spec, budget={"tokens": 500_000, "expected_drop_rate": 0.5})
    n_lean = sum(allocate(lean, 500_000).jobs.values())
    n_lossy = sum(allocate(lossy, 500_000).jobs.values())
    assert n_lossy == pytest.approx(2 * n_lean, rel=0.02)
    mean_len = {g: lean.genres[g].mean_tokens for g in GENRES}
    expected = sum(500_000 / 4 / mean_len[g] for g in GENRES)
    assert n_lean == pytest.approx(expected, rel=0.02)


def test_no_ai_name_above_three_percent(write_spec: Callable[..., Path]) -> None:
    corpus = _corpus(write_spec, budget={"tokens": 300_000}, genre_overrides=ALL_CAST)
    summary = summarise_plan(corpus)
    assert summary.jobs > 100
    assert summary.max_name_share() <= 0.03


def test_small_plan_spreads_names(write_spec: Callable[..., Path]) -> None:
    # Each genre starts its rotation at its own seeded slot, so genres can meet in
    # a small plan; within a genre no name repeats before all have been used.
    corpus = _corpus(write_spec, budget={"tokens": 8000}, genre_overrides=ALL_CAST)
    summary = summarise_plan(corpus)
    assert summary.jobs < len(corpus.personas.ai)
    assert max(summary.ai_names.values()) <= 2
    assert len(summary.ai_names) >= 0.75 * summary.jobs
    for genre in GENRES:
        names = [j.ai_id for j in iter_jobs(corpus, {genre: 81})]
        assert len(set(names)) == 81


def test_raising_the_budget_keeps_every_existing_job(write_spec: Callable[..., Path]) -> None:
    small = _corpus(write_spec, budget={"tokens": 20_000})
    big = _corpus(write_spec, name="big.yaml", budget={"tokens": 60_000})
    ids_small = {j.id for j in iter_jobs(small, allocate(small, 20_000).jobs)}
    ids_big = {j.id for j in iter_jobs(big, allocate(big, 60_000).jobs)}
    assert ids_small < ids_big


def test_excluded_name_in_library_is_refused_not_planned(write_spec: Callable[..., Path]) -> None:
    from sdf_corpus.errors import SpecError

    corpus = _corpus(write_spec)
    assert "Claude" not in {p.name for p in corpus.personas.ai}
    taken = corpus.personas.ai[0].name
    with pytest.raises(SpecError, match="an excluded name"):
        _corpus(write_spec, excluded_names=["Claude", taken])


def test_plan_json_reports_library_sizes(write_spec: Callable[..., Path]) -> None:
    result = CliRunner().invoke(main, ["plan", str(write_spec()), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["library"]["genres_available"] >= 14
    assert data["principles"] >= 25
    assert data["personas"] >= 60
    assert data["cells_covered"] == min(data["jobs"], data["cells_total"])
    assert set(data["genres"]) == {"blog_post", "news_article"}
    assert sum(g["jobs"] for g in data["genres"].values()) == data["jobs"]


def test_demo_spec_plans_a_small_offline_build() -> None:
    repo = Path(__file__).resolve().parents[2]
    result = CliRunner().invoke(main, ["plan", str(repo / "corpora" / "demo.yaml"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert 20 <= data["jobs"] <= 40


def test_plan_lists_principle_ids_and_titles(write_spec: Callable[..., Path]) -> None:
    spec = write_spec()
    principles = load_corpus(spec).constitution.principles
    data = json.loads(CliRunner().invoke(main, ["plan", str(spec), "--json"]).output)
    assert data["principle_titles"] == {p.id: p.title for p in principles}
    table = CliRunner().invoke(main, ["plan", str(spec)]).output
    for p in principles:
        assert any(p.id in line and p.title in line for line in table.splitlines())


@pytest.mark.parametrize("budget", [7000, 50000])
def test_plan_target_is_the_budget_share_report_compares_against(
    write_spec: Callable[..., Path], budget: int
) -> None:
    from sdf_corpus.plan.planner import genre_targets

    spec = write_spec(budget={"tokens": budget}, mix={"blog_post": 3})
    data = json.loads(CliRunner().invoke(main, ["plan", str(spec), "--json"]).output)
    targets = {g: line["target_tokens"] for g, line in data["genres"].items()}
    assert targets == genre_targets(load_corpus(spec))
    assert targets["blog_post"] == round(budget * 3 / 4)  # weights 3 and 1
    assert abs(data["target_tokens"] - budget) <= len(targets)  # rounding only
    expected = {g: line["expected_tokens"] for g, line in data["genres"].items()}
    assert expected == allocate(load_corpus(spec), budget).tokens
