from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from sdf_corpus.clean.config import CleanConfig, ShardConfig
from sdf_corpus.clean.inputs import read_documents
from sdf_corpus.clean.pipeline import clean
from sdf_corpus.document import Document
from textsynth import near_duplicate, shingle_jaccard

from .conftest import english


def corpus() -> tuple[list[Document], dict[str, tuple[str, str]]]:
    """Clean documents plus planted drops; returns docs and {id: (stage, reason)} expected."""
    rng = random.Random(42)
    docs = [
        Document(
            id=f"d{i}",
            text=english(1000 + i),
            genre="blog" if i % 2 else "story",
            principle_id=f"p{i % 3}",
        )
        for i in range(40)
    ]
    # The generator draws every text from one pool of words, all of them common in a
    # genre; a story has words of its own, which is what the semantic step compares.
    docs[3].text += (
        " The lighthouse keeper mended a brass telescope, a torn sail and the harbour"
        " bell, then rowed past the seals to the lantern gallery."
    )
    expected: dict[str, tuple[str, str]] = {}

    def plant(doc_id: str, text: str, stage: str, reason: str, **kw: Any) -> None:
        docs.append(Document(id=doc_id, text=text, genre="blog", **kw))
        expected[doc_id] = (stage, reason)

    plant("exact-case", docs[0].text.upper(), "exact_dedup", "exact_duplicate")
    plant(
        "exact-space", "  " + docs[1].text.replace(" ", "  \t "), "exact_dedup", "exact_duplicate"
    )
    near = near_duplicate(docs[2].text, 0.95, rng)
    assert shingle_jaccard(near, docs[2].text) > 0.9
    plant("near-95", near, "near_dedup", "near_duplicate")
    # MinHash keeps it (Jaccard 0.3 < 0.8), but every word left in it is d3's (the
    # planted edits are fresh non-words): the semantic step drops it as d3 told again.
    far = near_duplicate(docs[3].text, 0.3, rng)
    plant("near-30", far, "semantic_dedup", "semantic_duplicate")
    plant(
        "french",
        "Le matin, la boulangère ouvre sa boutique avant le lever du soleil. " * 8,
        "filter",
        "language",
    )
    plant("name", english(2001) + " Claude agreed.", "filter", "excluded_name")
    plant(
        "refusal", "I'm sorry, but I cannot write that story. " + english(2002), "filter", "refusal"
    )
    plant("loop", english(2003) + " It will be fine." * 8, "filter", "degenerate_loop")
    plant("placeholder", "Dear [Name],\n\n" + english(2004), "filter", "placeholder")
    plant("short", "Too short.", "filter", "too_short")
    return docs, expected


@pytest.fixture
def cleaned(tmp_path: Path) -> tuple[Path, Any, dict[str, tuple[str, str]], list[Document]]:
    docs, expected = corpus()
    trimmed = Document(id="trim", text="Sure! Here's your story:\n\n" + english(3000), genre="blog")
    docs.append(trimmed)
    stats = clean(iter(docs), tmp_path, CleanConfig(), spec_hash="abc", progress=False)
    return tmp_path, stats, expected, docs


def read_rejected(out: Path) -> dict[str, dict[str, Any]]:
    lines = (out / "rejected" / "rejected.jsonl").read_text().splitlines()
    return {row["id"]: row for row in map(json.loads, lines)}


def test_planted_drops_have_stage_and_reason(cleaned: Any) -> None:
    out, stats, expected, docs = cleaned
    rejected = read_rejected(out)
    assert {k: (v["stage"], v["reason"]) for k, v in rejected.items()} == expected
    assert rejected["near-95"]["duplicate_of"] == "d2"
    assert rejected["near-30"]["duplicate_of"] == "d3"
    assert stats.input_docs == len(docs)
    assert stats.kept_docs == len(docs) - len(expected)
    assert stats.dropped_by_reason()["exact_duplicate"] == 2
    assert stats.cluster_sizes == {2: 1}


def test_shards_round_trip(cleaned: Any) -> None:
    out, stats, expected, docs = cleaned
    table = pq.read_table(out / "shards")
    rows = {r["id"]: r for r in table.to_pylist()}
    kept = [d for d in docs if d.id not in expected]
    assert set(rows) == {d.id for d in kept}
    assert rows["d5"]["text"] == docs[5].text
    assert rows["d5"]["principle_id"] == "p2"
    assert table.schema.field("n_tokens").type == "int64"
    assert rows["trim"]["text"] == english(3000)
    assert rows["trim"]["quality"]["trimmed"][0]["filter"] == "meta_commentary"
    assert stats.trimmed["meta_commentary"] == 1


def test_shards_load_with_datasets_and_duckdb(cleaned: Any) -> None:
    out, stats, *_ = cleaned
    from datasets import load_dataset

    files = sorted(str(p) for p in (out / "shards").glob("*.parquet"))
    ds = load_dataset("parquet", data_files=files, split="train")
    assert ds.num_rows == stats.kept_docs
    count = duckdb.sql(f"select count(*) from '{out}/shards/*.parquet'").fetchall()
    assert count == [(stats.kept_docs,)]


def test_manifest_and_stats(cleaned: Any) -> None:
    out, stats, *_ = cleaned
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["spec_hash"] == "abc"
    assert manifest["tokenizer"] == "approx-words-v1"
    assert manifest["totals"]["documents"] == stats.kept_docs
    assert manifest["totals"]["tokens"] == stats.kept_tokens
    for shard in manifest["shards"]:
        data = (out / "shards" / shard["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == shard["sha256"]
        assert len(data) == shard["bytes"]
    assert sum(g["docs"] for g in manifest["by_genre"].values()) == stats.kept_docs
    assert set(manifest["by_principle"]) >= {"p0", "p1", "p2"}
    report = json.loads((out / "clean_stats.json").read_text())
    assert report["dropped"]["by_stage"]["filter"]["language"]["docs"] == 1
    assert report["input"]["docs"] == stats.input_docs
    assert report["near_dup_cluster_sizes"] == {"2": 1}


def test_rerun_replaces_outputs_without_stale_shards(tmp_path: Path) -> None:
    docs = [Document(id=f"d{i}", text=english(4000 + i, 400)) for i in range(60)]
    small = CleanConfig(shard=ShardConfig(target_mb=0.01, row_group_rows=5))
    clean(docs, tmp_path, small, progress=False)
    first = sorted(p.name for p in (tmp_path / "shards").iterdir())
    assert len(first) > 2
    clean(docs, tmp_path, CleanConfig(), progress=False)
    assert sorted(p.name for p in (tmp_path / "shards").iterdir()) == ["shard-00000.parquet"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert pq.read_table(tmp_path / "shards").num_rows == 60


def test_jsonl_extra_columns_reach_shards(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    rows = [
        {"text": english(5000 + i), "source": "forum", "score": i, "genre": "post"}
        for i in range(5)
    ]
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "out"
    clean(read_documents([src]), out, CleanConfig(), progress=False)
    table = pq.read_table(out / "shards")
    assert table.column("source").to_pylist() == ["forum"] * 5
    assert table.column("score").to_pylist() == list(range(5))
    assert all(len(i) == 32 for i in table.column("id").to_pylist())  # content hash ids


def _outputs(out: Path) -> tuple[Any, str, dict[str, Any]]:
    stats = json.loads((out / "clean_stats.json").read_text())
    stats.pop("timings_s")  # wall-clock, differs run to run
    rows = pq.read_table(out / "shards").to_pylist()
    return rows, (out / "rejected" / "rejected.jsonl").read_text(), stats


def test_worker_pool_gives_the_same_outputs_as_one_process(tmp_path: Path) -> None:
    # More documents than one chunk, so workers=2 really runs the pool; small
    # dedup batches so batch boundaries fall inside and across chunks.
    from sdf_corpus.clean.workers import CHUNK_DOCS

    rng = random.Random(5)
    docs = [Document(id=f"d{i}", text=english(6000 + i, 80)) for i in range(CHUNK_DOCS * 2 + 40)]
    for i in range(0, len(docs), 7):  # exact, near and filtered documents spread over chunks
        docs.insert(i + 3, Document(id=f"x{i}", text=docs[i].text.upper()))
        docs.insert(i + 5, Document(id=f"n{i}", text=near_duplicate(docs[i].text, 0.9, rng)))
    docs.insert(300, Document(id="loop", text=english(1) + " It will be fine." * 8))
    results = []
    for workers in (1, 2):
        config = CleanConfig.model_validate({"workers": workers, "dedup": {"batch_size": 97}})
        out = tmp_path / f"w{workers}"
        clean(iter(docs), out, config, progress=False)
        results.append(_outputs(out))
    assert results[0] == results[1]
    _rows, rejected, stats = results[0]
    assert stats["dropped"]["by_stage"]["exact_dedup"]["exact_duplicate"]["docs"] > 50
    assert "near_duplicate" in rejected and "degenerate_loop" in rejected
