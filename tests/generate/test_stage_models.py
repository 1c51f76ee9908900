"""A model per stage (`backend.stages.<STAGE>.model`): what is sent, recorded, shown and priced."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import datasets
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from fakeprovider.server import FakeProvider
from sdf_corpus.cli import main
from sdf_corpus.errors import SpecError
from sdf_corpus.spec.load import load_corpus
from sdf_corpus.targets import Target, stage_target

from .conftest import DUMMY_KEY, ledger_rows

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "corpora" / "demo.yaml"
M0, M1, M2 = "claude-haiku-4-5", "claude-sonnet-4-5", "claude-opus-4-5"


def _demo_sets(fake: FakeProvider) -> list[str]:
    """corpora/demo.yaml on the fake Anthropic API, ideas on M1 and rewrites on M2."""
    return [
        "--set",
        "backend.provider=anthropic",
        "--set",
        f"backend.model={M0}",
        "--set",
        f"backend.api_base={fake.url}",
        "--set",
        "backend.concurrency=4",
        "--set",
        "budget.max_rounds=1",
        "--set",
        "budget.tokens=4000",
        "--set",
        f"backend.stages.idea.model={M1}",
        "--set",
        f"backend.stages.rewrite.model={M2}",
    ]


def test_demo_build_sends_each_stage_to_its_model(
    fake_provider: FakeProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", DUMMY_KEY)
    run = tmp_path / "run"
    args = [*_demo_sets(fake_provider), "--out", str(run), "--no-progress"]
    result = CliRunner().invoke(main, ["build", str(DEMO), *args])
    assert result.exit_code in (0, 6), result.stderr
    # What the fake was asked for, read from the request bodies it received.
    sent = Counter(r["body"]["model"] for r in fake_provider.requests)
    by_stage = dict(
        ledger_rows(run, "SELECT stage, GROUP_CONCAT(DISTINCT model) FROM attempts GROUP BY stage")
    )
    assert by_stage == {"idea": M1, "outline": M0, "draft": M0, "rewrite": M2}
    stage_counts = dict(ledger_rows(run, "SELECT stage, COUNT(*) FROM attempts GROUP BY stage"))
    assert sent[M1] == stage_counts["idea"]
    assert sent[M2] == stage_counts["rewrite"]
    assert sent[M0] == stage_counts["draft"] + stage_counts["outline"]
    # The shards record which model wrote each stage, as a native column.
    shards = sorted((run / "shards").glob("*.parquet"))
    column = pq.read_table(shards).schema.field("stage_models").type
    assert pa.types.is_list(column)
    assert column.value_type == pa.struct([("stage", pa.string()), ("model", pa.string())])
    loaded = datasets.load_dataset("parquet", data_files=[str(p) for p in shards])["train"]
    assert {m["stage"]: m["model"] for m in loaded[0]["stage_models"]}["rewrite"] == M2
    glob = str(run / "shards" / "*.parquet")
    rows = duckdb.sql(
        f"SELECT genre, s.stage, s.model FROM (SELECT genre, unnest(stage_models) AS s "
        f"FROM read_parquet('{glob}'))"
    ).fetchall()
    assert {(stage, model) for _, stage, model in rows} == {
        ("idea", M1),
        ("outline", M0),
        ("draft", M0),
        ("rewrite", M2),
    }
    # The report shows spend per stage and model.
    report = json.loads((run / "report.json").read_text())
    assert {(r["stage"], r["model"]) for r in report["spend"]["by_stage_model"]} >= {
        ("idea", M1),
        ("rewrite", M2),
        ("draft", M0),
    }


def test_estimate_prices_each_stage_at_its_model(
    fake_provider: FakeProvider, tmp_path: Path
) -> None:
    args = [*_demo_sets(fake_provider), "--out", str(tmp_path / "run")]
    result = CliRunner().invoke(main, ["plan", str(DEMO), "--estimate", "--json", *args])
    assert result.exit_code == 0, result.stderr
    estimate = json.loads(result.stdout)["estimate"]
    models = {(line["stage"], line["model"]) for line in estimate["stages"]}
    assert {("idea", M1), ("rewrite", M2), ("draft", M0)} <= models
    by = {(r["stage"], r["model"]): r for r in estimate["by_stage_model"]}
    # Opus output costs 5x Haiku's: the rewrite line is priced at its own model.
    rewrite = next(x for x in estimate["stages"] if x["stage"] == "rewrite")
    assert rewrite["cost_usd"] == pytest.approx(
        (
            rewrite["input_tokens"] * 5
            + rewrite["output_tokens"] * 25
            + rewrite["cache_read_tokens"] * 0.5
            + rewrite["cache_write_tokens"] * 6.25
        )
        / 1e6,
        rel=1e-3,
    )
    assert by[("rewrite", M2)]["batch_cost_usd"] == pytest.approx(
        by[("rewrite", M2)]["cost_usd"] / 2, rel=1e-3
    )


def test_genre_override_and_set_pick_the_stage_target(tmp_path: Path, write_spec) -> None:  # type: ignore[no-untyped-def]
    spec = write_spec(
        backend={"provider": "anthropic", "model": M0, "stages": {"idea": {"model": M1}}},
        genres=["blog_post", "good_mental_health_story"],
        genre_overrides={"good_mental_health_story": {"stages": {"idea": {"model": M2}}}},
    )
    corpus = load_corpus(
        spec,
        [
            "backend.stages.outline.provider=litellm",
            "backend.stages.outline.model=openai/gpt-5-mini",
        ],
    )
    assert stage_target(corpus.spec, "blog_post", "idea") == Target("anthropic", M1)
    assert stage_target(corpus.spec, "good_mental_health_story", "idea") == Target("anthropic", M2)
    assert stage_target(corpus.spec, "good_mental_health_story", "outline") == Target(
        "litellm", "openai/gpt-5-mini"
    )
    assert stage_target(corpus.spec, "blog_post", "draft") == Target("anthropic", M0)


@pytest.mark.parametrize(
    ("sets", "words"),
    [
        (["backend.stages.ideas.model=x"], "no genre has a stage 'ideas'"),
        (
            ["genre_overrides.blog_post.stages.outline.model=x"],
            "genre blog_post has no stage 'outline' (use one of: idea, draft, rewrite)",
        ),
        (["backend.stages.idea.temperature=0"], "temperature"),
        (["backend.stages.idea.provider=litellm"], "provider litellm needs a model"),
    ],
)
def test_bad_stage_entries_are_one_line(write_spec, sets: list[str], words: str) -> None:  # type: ignore[no-untyped-def]
    spec = write_spec(backend={"provider": "anthropic", "model": M0})
    with pytest.raises(SpecError) as err:
        load_corpus(spec, sets)
    assert words in str(err.value)
    assert "\n" not in str(err.value)


def test_the_breaker_is_per_target(
    fake_spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    """An unknown model on the rewrite stops the run naming it; the other stages' model
    kept working until then (its own breaker never saw a refusal)."""
    fake_provider.models = {M0}
    spec = fake_spec(backend={"stages": {"rewrite": {"model": "claude-nope-1"}}})
    result = CliRunner().invoke(main, ["generate", str(spec), "--no-progress"])
    assert result.exit_code == 5, result.stderr
    assert "claude-nope-1" in result.stderr
    run = spec.parent / "run"
    ok = dict(
        ledger_rows(run, "SELECT model, COUNT(*) FROM attempts WHERE outcome='ok' GROUP BY 1")
    )
    assert set(ok) == {M0} and ok[M0] > 0
    assert ledger_rows(run, "SELECT COUNT(*) FROM jobs WHERE status='failed'") == [(0,)]
