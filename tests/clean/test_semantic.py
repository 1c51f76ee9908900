"""The clean stage's semantic step: retellings merge, different stories stay apart, and
the verdicts depend on neither the input order nor the workers."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from fakeprovider.text import document_text
from report.plots import plot_documents
from sdf_corpus.clean.config import CleanConfig, SemanticConfig
from sdf_corpus.clean.pipeline import clean
from sdf_corpus.clean.semantic_words import content_features
from sdf_corpus.cli import main
from sdf_corpus.document import Document
from sdf_corpus.embed import load_embedder
from semantic_calibration import LONG, SHORT, calibration_documents, score

from .conftest import english

# The short calibration pieces run to 80-150 words; the default floor is 50 tokens.
_SETTINGS: dict[str, Any] = {"workers": 1}


def _run(tmp: Path, docs: list[Document], **settings: Any) -> tuple[set[str], list[dict[str, Any]]]:
    config = CleanConfig.model_validate({**_SETTINGS, **settings})
    clean(iter(docs), tmp, config, progress=False)
    kept = set(pq.read_table(tmp / "shards", columns=["id"]).column("id").to_pylist())
    rejected = [json.loads(line) for line in (tmp / "rejected" / "rejected.jsonl").open()]
    return kept, rejected


def _verdicts(rejected: list[dict[str, Any]]) -> dict[str, str]:
    return {r["id"]: r["duplicate_of"] for r in rejected if r["reason"] == "semantic_duplicate"}


@pytest.mark.parametrize(
    ("files", "parts"),
    [((SHORT,), ("short",)), ((LONG,), ("long",)), ((SHORT, LONG), ("short", "long", ""))],
    ids=["short", "long", "short-and-long-in-one-genre"],
)
def test_calibration_merges_retellings_and_keeps_stories_apart(
    tmp_path: Path, files: tuple[Path, ...], parts: tuple[str, ...]
) -> None:
    docs, story = calibration_documents(*files)
    kept, rejected = _run(tmp_path, docs)
    assert score(story, kept, rejected, "").false_merges == 0, [
        r for r in rejected if story[r["id"]] != story[r["duplicate_of"]]
    ]
    for part in parts:
        result = score(story, kept, rejected, part)
        assert result.rewordings >= 10, result  # enough to measure 9 in 10
        assert result.recall >= 0.9, (part, result)
        assert result.stories_kept == result.stories  # every story keeps one telling
    assert {r["reason"] for r in rejected} == {"semantic_duplicate"}


def test_rejected_row_names_the_document_repeated(tmp_path: Path) -> None:
    docs, story = calibration_documents()
    kept, rejected = _run(tmp_path, docs)
    row = next(r for r in rejected if r["reason"] == "semantic_duplicate")
    assert row["stage"] == "semantic_dedup"
    assert row["duplicate_of"] in kept and story[row["duplicate_of"]] == story[row["id"]]
    detail = json.loads(row["detail"])
    cfg = SemanticConfig()
    assert detail["cosine"] >= cfg.threshold and detail["word_overlap"] >= cfg.min_word_overlap
    assert detail["cosine"] - detail["background"] >= cfg.margin
    stats = json.loads((tmp_path / "clean_stats.json").read_text())
    by_stage = stats["dropped"]["by_stage"]["semantic_dedup"]["semantic_duplicate"]
    assert by_stage["docs"] == len(_verdicts(rejected))
    assert json.loads((tmp_path / "manifest.json").read_text())["semantic"]["enabled"] is True


@pytest.mark.parametrize("shard", [{}, {"row_group_rows": 1, "target_mb": 1e-6}])
def test_dropped_documents_leave_the_shards_and_reach_rejected_whole(
    tmp_path: Path, shard: dict[str, Any]
) -> None:
    # Kept documents are written as they come and the drops taken out afterwards: with
    # tiny shards (one row group each) whole shards empty out and the rest are renumbered.
    docs, _ = calibration_documents()
    docs = [
        dataclasses.replace(
            d,
            attributes={"draw": i, "tone": "calm"},
            principle_id=f"p{i % 4}",
            quality={"judge": {"score": i % 5}},
            metadata={"rank": i},
        )
        for i, d in enumerate(docs)
    ]
    dropped = _verdicts(_run(tmp_path / "first", docs)[1])
    # user text may repeat an id: an unrelated document under a dropped one's id stays
    twin = Document(id=sorted(dropped)[0], text=english(77, 200), genre="other")
    kept, rejected = _run(tmp_path, [*docs, twin], shard=shard)
    assert _verdicts(rejected) == dropped
    assert kept == {d.id for d in docs} - set(dropped) | {twin.id}
    by_id = {d.id: (i, d) for i, d in enumerate(docs)}
    for row in rejected:  # the whole document, as rejected/ writes any drop
        i, doc = by_id[row["id"]]
        assert row["attributes"] == {"draw": i, "tone": "calm"}
        assert row["quality"] == {"judge": {"score": i % 5}} and row["rank"] == i
        assert row["text"] == doc.text and row["principle_id"] == doc.principle_id
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    files = sorted(p.name for p in (tmp_path / "shards").glob("*.parquet"))
    assert files == [f"shard-{i:05d}.parquet" for i in range(len(files))]
    assert [s["file"] for s in manifest["shards"]] == files
    ids_in_order: list[str] = []
    for entry in manifest["shards"]:
        path = tmp_path / "shards" / entry["file"]
        table = pq.read_table(path, columns=["id", "n_tokens", "genre", "principle_id"])
        assert entry["rows"] == table.num_rows > 0
        assert entry["tokens"] == sum(table.column("n_tokens").to_pylist())
        assert entry["bytes"] == path.stat().st_size
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        ids_in_order += table.column("id").to_pylist()
    assert ids_in_order == [d.id for d in docs if d.id not in dropped] + [twin.id]
    assert manifest["totals"]["documents"] == len(ids_in_order)
    if shard:
        assert len(files) == len(ids_in_order)  # one per kept document: emptied ones gone
    principles = {by_id[i][1].principle_id for i in kept - {twin.id}}
    assert set(manifest["by_principle"]) == principles
    assert sum(v["docs"] for v in manifest["by_principle"].values()) == len(kept) - 1
    assert manifest["by_genre"]["other"]["docs"] == 1
    stats = json.loads((tmp_path / "clean_stats.json").read_text())
    assert stats["kept"]["docs"] == len(ids_in_order)
    assert stats["kept"]["tokens"] == manifest["totals"]["tokens"]


def test_verdicts_do_not_depend_on_input_order(tmp_path: Path) -> None:
    docs, _ = calibration_documents()
    shuffled = docs[:]
    random.Random(5).shuffle(shuffled)
    kept_a, rejected_a = _run(tmp_path / "a", docs)
    kept_b, rejected_b = _run(tmp_path / "b", shuffled)
    assert kept_a == kept_b
    assert _verdicts(rejected_a) == _verdicts(rejected_b)
    # shards keep the input order
    ids = pq.read_table(tmp_path / "b" / "shards", columns=["id"]).column("id").to_pylist()
    assert ids == [d.id for d in shuffled if d.id in kept_b]


def test_verdicts_do_not_depend_on_workers(tmp_path: Path) -> None:
    docs, _ = calibration_documents()
    # other genres' documents fill more than one chunk, so two workers really run
    filler = [Document(id=f"f{i}", text=english(i, 200), genre=f"g{i % 3}") for i in range(500)]
    mixed = [d for pair in zip(filler, docs + filler[len(docs) :], strict=False) for d in pair]
    one = _run(tmp_path / "one", mixed, workers=1)
    two = _run(tmp_path / "two", mixed, workers=2)
    assert one[0] == two[0]
    assert _verdicts(one[1]) == _verdicts(two[1])
    # pool-drawn filler text (one small vocabulary) is all alike: none of it stands out
    assert not [i for i in _verdicts(one[1]) if i.startswith("f")]


def test_fake_provider_documents_are_not_retellings(tmp_path: Path) -> None:
    # one pool of constitution sentences, shuffled per prompt: all alike, none a retelling
    texts = [
        document_text(f"Write a blog post on principle {i} for reader {i % 7}", 1600)
        for i in range(80)
    ]
    docs = [Document(id=f"f{i}", text=t, genre="blog_post") for i, t in enumerate(texts)]
    kept, rejected = _run(tmp_path, docs)
    assert _verdicts(rejected) == {}
    assert len(kept) == 80


def test_only_documents_of_one_genre_are_compared(tmp_path: Path) -> None:
    docs, _ = calibration_documents()
    moved = [
        Document(id=d.id, text=d.text, genre="essay" if d.id.endswith("/1") else d.genre)
        for d in docs
    ]
    _, rejected = _run(tmp_path, moved)
    genre = {d.id: d.genre for d in moved}
    assert _verdicts(rejected)
    assert all(genre[i] == genre[j] for i, j in _verdicts(rejected).items())


def test_switched_off_drops_nothing_semantic(tmp_path: Path) -> None:
    docs, _ = calibration_documents()
    kept, rejected = _run(tmp_path, docs, semantic={"enabled": False})
    assert kept == {d.id for d in docs}
    assert rejected == []
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["semantic"]["enabled"] is False


def test_names_do_not_change_the_vector() -> None:
    a = "The nurse, Dana, asked Tamsin to check the chart. Tamsin said it would, and Dana smiled."
    b = "The nurse, Priya, asked Orla to check the chart. Orla said it would, and Priya smiled."
    c = "The porter asked the assistant about the chart; it would not say, and he left."
    vectors, sets = content_features([a, b, c], load_embedder())
    assert float(vectors[0] @ vectors[1]) == pytest.approx(1.0, abs=1e-5)
    assert sets[0] == sets[1] != sets[2]
    assert float(vectors[0] @ vectors[2]) < 0.99
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_sentence_initial_words_are_not_names() -> None:
    # "When" opens sentences only: it is a word of the text, not a name
    one = "When the lights went out, the nurse waited. When they came back, she smiled."
    two = "the lights went out, the nurse waited. they came back, she smiled."
    _, sets = content_features([one, two], load_embedder())
    assert sets[0] != sets[1]


def _cli(tmp: Path, *args: str) -> dict[str, str]:
    docs, _ = calibration_documents()
    tmp.mkdir()
    src = tmp / "in.jsonl"
    src.write_text("".join(json.dumps({"id": d.id, "text": d.text}) + "\n" for d in docs))
    out = tmp / "out"
    result = CliRunner().invoke(
        main, ["clean", str(src), "--out", str(out), "--no-progress", *args]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "rejected" / "rejected.jsonl").open()]
    return _verdicts(rows)


def test_cli_semantic_is_off_for_external_text_unless_asked(tmp_path: Path) -> None:
    assert _cli(tmp_path / "default") == {}
    # 50 rewordings in the short and long sets: at least 9 in 10 merge
    assert len(_cli(tmp_path / "flag", "--semantic")) >= 45
    assert len(_cli(tmp_path / "set", "--set", "semantic.enabled=true")) >= 45
    assert _cli(tmp_path / "off", "--set", "semantic.enabled=true", "--no-semantic") == {}


def test_report_plots_keep_one_telling_per_plot_and_genre(tmp_path: Path) -> None:
    # the report tests' set: 12 plots told 4 times (sentences shuffled, a name changed)
    docs = plot_documents()
    kept, rejected = _run(tmp_path, docs, filters={"enabled": []})
    genre = {d.id: d.genre for d in docs}
    plot = {d.id: d.id.split("-")[1] for d in docs}
    assert all(plot[i] == plot[j] for i, j in _verdicts(rejected).items())
    told = {(genre[i], plot[i]) for i in kept}
    assert len(told) == len(kept)  # at most one telling of a plot per genre
    assert {p for g, p in told if g == "story"} == {f"{p:02d}" for p in range(12)}


@pytest.mark.parametrize("seed", [1, 2])
def test_generated_documents_keep_the_earliest_telling_in_plan_order(
    tmp_path: Path, seed: int
) -> None:
    """With plan positions (a build's documents), a retelling repeats one that comes
    before it in the plan, whatever the texts' digests: the budget's cut in plan order
    then never loses a kept document to one sent after it."""
    docs, _ = calibration_documents()
    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    placed = [dataclasses.replace(d, plan_position=p) for d, p in zip(docs, order, strict=True)]
    position = {d.id: d.plan_position for d in placed}
    _, rejected = _run(tmp_path, placed)
    verdicts = _verdicts(rejected)
    assert verdicts
    assert all(position[kept] < position[dropped] for dropped, kept in verdicts.items())
