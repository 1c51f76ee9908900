"""The run-folder module: atomic writes, shard order, column reads, rejected rows, stats."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sdf_corpus.clean.stats import CleanStats
from sdf_corpus.document import Document
from sdf_corpus.errors import InputError
from sdf_corpus.io.readers import iter_jsonl
from sdf_corpus.runfolder import (
    AtomicFile,
    RejectWriter,
    RunFolder,
    atomic_open,
    iter_rejected,
    publish,
    read_clean_stats,
    replace_folder,
    staged_folder,
    write_clean_stats,
    write_json_atomic,
    write_text_atomic,
)
from sdf_corpus.runfolder.rows import iter_batches, iter_rows


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ---- atomic writes -------------------------------------------------------------


def test_a_failure_mid_write_leaves_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    write_text_atomic(target, "old\n")
    with pytest.raises(RuntimeError, match="disk full"), atomic_open(target) as handle:
        handle.write("half of the new\n")
        handle.flush()
        raise RuntimeError("disk full")
    assert target.read_text() == "old\n"
    assert _listing(tmp_path) == ["out.jsonl"]


def test_json_that_cannot_be_written_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "manifest.json"
    write_json_atomic(target, {"a": 1})
    with pytest.raises(TypeError):
        write_json_atomic(target, {"a": object()})
    assert json.loads(target.read_text()) == {"a": 1}
    assert _listing(tmp_path) == ["manifest.json"]


def test_a_failed_rename_removes_the_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.json"
    write_text_atomic(target, "old")

    def refuse(src: Any, dst: Any) -> None:
        raise OSError("read-only file system")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="read-only"):
        write_text_atomic(target, "new")
    assert target.read_text() == "old"
    assert _listing(tmp_path) == ["report.json"]


def test_json_is_indented_utf8_with_a_final_newline(tmp_path: Path) -> None:
    write_json_atomic(tmp_path / "x.json", {"name": "café", "n": [1]})
    assert (tmp_path / "x.json").read_text(encoding="utf-8") == (
        '{\n  "name": "café",\n  "n": [\n    1\n  ]\n}\n'
    )


def test_an_open_atomic_file_is_invisible_until_commit(tmp_path: Path) -> None:
    file = AtomicFile(tmp_path / "shard-00000.parquet")
    file.tmp.write_text("partial")
    assert not file.target.exists() and file.tmp.name.startswith(".")
    assert not list(tmp_path.glob("*.parquet"))  # a shard reader never sees it
    file.commit()
    assert file.target.read_text() == "partial" and not file.tmp.exists()


def test_publish_swaps_folders_and_writes_the_manifest_last(tmp_path: Path) -> None:
    out = tmp_path / "run"
    (out / "shards").mkdir(parents=True)
    (out / "shards" / "old.parquet").write_text("old")
    write_json_atomic(out / "manifest.json", {"v": "old"})
    with staged_folder(out, "clean") as staging:
        (staging / "shards").mkdir()
        (staging / "shards" / "new.parquet").write_text("new")
        files = [("clean_stats.json", {"s": 1}), ("manifest.json", {"v": "new"})]
        publish(out, staging, ["shards"], files)
    assert _listing(out / "shards") == ["new.parquet"]
    assert json.loads((out / "manifest.json").read_text()) == {"v": "new"}
    assert _listing(out) == ["clean_stats.json", "manifest.json", "shards"]  # no staging left


def test_a_publish_that_fails_leaves_no_manifest_over_mixed_content(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    write_json_atomic(out / "manifest.json", {"v": "old"})
    with pytest.raises(TypeError), staged_folder(out, "clean") as staging:
        (staging / "shards").mkdir()
        publish(out, staging, ["shards"], [("clean_stats.json", {"bad": object()})])
    # The manifest goes first, so its absence says the folder is not complete.
    assert not (out / "manifest.json").exists()
    assert _listing(out) == ["shards"]


def test_a_failure_in_a_staged_folder_leaves_the_old_folder(tmp_path: Path) -> None:
    target = tmp_path / "hf"
    target.mkdir()
    (target / "README.md").write_text("old")
    with pytest.raises(RuntimeError), staged_folder(tmp_path, "hf") as staging:
        (staging / "README.md").write_text("new")
        raise RuntimeError("export failed")
    assert (target / "README.md").read_text() == "old"
    assert _listing(tmp_path) == ["hf"]
    with staged_folder(tmp_path, "hf") as staging:
        (staging / "README.md").write_text("new")
        replace_folder(staging, target)
    assert (target / "README.md").read_text() == "new" and _listing(tmp_path) == ["hf"]


# ---- shards: one order, columns, batches -----------------------------------------


def _shard(path: Path, ids: list[str], **extra: list[Any]) -> None:
    columns = {"id": ids, "genre": ["faq"] * len(ids), "n_tokens": list(range(len(ids)))}
    pq.write_table(pa.table({**columns, **extra}), path)


def test_shards_are_read_in_shard_index_order(tmp_path: Path) -> None:
    run = RunFolder(tmp_path)
    run.shards_dir.mkdir()
    for index in (10, 9, 2):  # unpadded: name order would put 10 before 2 and 9
        _shard(run.shard(f"shard-{index}.parquet"), [f"doc-{index}"])
    assert [p.name for p in run.shards()] == [
        "shard-2.parquet",
        "shard-9.parquet",
        "shard-10.parquet",
    ]
    ids = [row["id"] for row in iter_rows(run.shards(), ["id"])]
    assert ids == ["doc-2", "doc-9", "doc-10"]


def test_the_report_reads_shards_in_the_same_order_whatever_the_manifest_lists(
    tmp_path: Path,
) -> None:
    from sdf_corpus.report.sources import RunFiles

    run = RunFolder(tmp_path)
    run.shards_dir.mkdir()
    for index in (0, 1, 2):
        _shard(run.shard(f"shard-{index:05d}.parquet"), [f"d{index}"])
    listed = [{"file": f"shard-{i:05d}.parquet"} for i in (2, 0, 1)]
    write_json_atomic(run.manifest, {"shards": listed})
    assert RunFiles.open(tmp_path).shards == run.shards()


def test_rows_carry_only_the_columns_asked_for(tmp_path: Path) -> None:
    paths = [tmp_path / "shard-00000.parquet", tmp_path / "shard-00001.parquet"]
    _shard(paths[0], ["a", "b"], text=["x", "y"])
    _shard(paths[1], ["c"])  # no `text` column: left out, not an error
    rows = list(iter_rows(paths, ["id", "text"]))
    assert rows == [{"id": "a", "text": "x"}, {"id": "b", "text": "y"}, {"id": "c"}]
    assert set(next(iter_rows(paths))) == {"id", "genre", "n_tokens", "text"}


def test_batches_stream_and_report_each_finished_shard(tmp_path: Path) -> None:
    paths = [tmp_path / "shard-00000.parquet", tmp_path / "shard-00001.parquet"]
    _shard(paths[0], ["a", "b", "c", "d", "e"])
    _shard(paths[1], ["f"])
    finished: list[str] = []
    sizes = [
        b.num_rows for b in iter_batches(paths, ["id"], 2, done=lambda p: finished.append(p.name))
    ]
    assert sizes == [2, 2, 1, 1]
    assert finished == ["shard-00000.parquet", "shard-00001.parquet"]


def test_a_damaged_shard_is_a_one_line_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "shard-00000.parquet"
    bad.write_text("not parquet")
    with pytest.raises(InputError, match="not a readable Parquet file"):
        list(iter_rows([bad]))


def test_no_shards_says_how_to_make_them(tmp_path: Path) -> None:
    run = RunFolder(tmp_path)
    with pytest.raises(InputError, match="no Parquet shards found"):
        run.require_shards()
    write_json_atomic(run.manifest, {"shards": []})
    with pytest.raises(InputError, match="kept no documents"):
        run.require_shards()


# ---- rejected rows -----------------------------------------------------------------


def test_rejected_rows_round_trip_and_the_judge_appends(tmp_path: Path) -> None:
    run = RunFolder(tmp_path)
    writer = RejectWriter(run.rejected_dir)
    writer.write(Document(id="a", text="x"), "filter", "too_short", {"chars": 1})
    writer.close()
    later = RejectWriter(run.rejected_dir, keep_existing=True)
    later.write_row({"reason": "judge_reasoning", "stage": "judge", "id": "b"})
    later.close()
    rows = list(iter_rejected(run.rejected))
    assert [(r["id"], r["stage"], r["reason"]) for r in rows] == [
        ("a", "filter", "too_short"),
        ("b", "judge", "judge_reasoning"),
    ]
    assert rows[0]["detail"] == '{"chars": 1}' and rows[0]["duplicate_of"] is None


def test_an_aborted_reject_writer_leaves_the_old_file(tmp_path: Path) -> None:
    run = RunFolder(tmp_path)
    writer = RejectWriter(run.rejected_dir)
    writer.write_row({"reason": "r", "stage": "s", "id": "a"})
    writer.close()
    before = run.rejected.read_bytes()
    failed = RejectWriter(run.rejected_dir, keep_existing=True)
    failed.write_row({"reason": "r", "stage": "judge", "id": "b"})
    failed.abort()
    assert run.rejected.read_bytes() == before
    assert _listing(run.rejected_dir) == ["rejected.jsonl"]


# ---- stats ---------------------------------------------------------------------------


def _stats() -> CleanStats:
    stats = CleanStats(input_docs=10, input_tokens=100, kept_docs=7, kept_tokens=70)
    stats.drop("filter", "too_short", 5)
    stats.drop("near_dedup", "near_duplicate", 10)
    stats.drop("exact_dedup", "exact_duplicate", 15)
    stats.trimmed["preamble"] = 2
    stats.cluster_sizes[2] = 1
    stats.timings["read"] = 0.1234
    return stats


def test_clean_stats_round_trip_through_the_file(tmp_path: Path) -> None:
    run = RunFolder(tmp_path)
    assert read_clean_stats(run) is None
    write_clean_stats(run, _stats())
    before = run.clean_stats.read_bytes()
    again = read_clean_stats(run)
    assert again is not None
    write_clean_stats(run, again)
    assert run.clean_stats.read_bytes() == before


def test_a_later_stage_moves_kept_documents_to_dropped(tmp_path: Path) -> None:
    run = RunFolder(tmp_path)
    write_clean_stats(run, _stats())
    stats = read_clean_stats(run)
    assert stats is not None
    stats.drop_kept("judge", "judge_reasoning", 2, 20)
    write_clean_stats(run, stats)
    data = json.loads(run.clean_stats.read_text())
    assert data["kept"] == {"docs": 5, "tokens": 50}
    assert data["dropped"]["docs"] == 5 and data["dropped"]["tokens"] == 50
    assert list(data["dropped"]["by_stage"]) == ["exact_dedup", "filter", "near_dedup", "judge"]
    assert data["dropped"]["by_stage"]["judge"] == {"judge_reasoning": {"docs": 2, "tokens": 20}}


# ---- the one JSONL reader ------------------------------------------------------------


def test_bare_values_become_a_named_field_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "eval.jsonl"
    path.write_text('"a bare question"\n\n{"id": "q2", "text": "an object"}\n')
    rows = list(iter_jsonl(path, bare="text"))
    assert rows == [(1, {"text": "a bare question"}), (3, {"id": "q2", "text": "an object"})]
    with pytest.raises(InputError, match=r"eval\.jsonl:1: expected a JSON object"):
        list(iter_jsonl(path))


def test_a_cache_folder_filled_first_by_another_process_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "tokenizer"
    target.mkdir()
    (target / "tokenizer.json").write_text("theirs")
    with staged_folder(tmp_path, "tokenizer") as staging:
        (staging / "tokenizer.json").write_text("ours")
        replace_folder(staging, target, keep_existing=True)
    assert (target / "tokenizer.json").read_text() == "theirs"
    assert _listing(tmp_path) == ["tokenizer"]  # the staged copy is gone too


def test_row_reading_loads_pyarrow_only_when_first_used() -> None:
    import subprocess
    import sys

    code = (
        "import sys, sdf_corpus.runfolder as r; a = 'pyarrow' in sys.modules; "
        "from sdf_corpus.runfolder import iter_rows; "
        "from sdf_corpus.runfolder.rows import iter_rows as direct; "
        "print(a, 'pyarrow' in sys.modules, iter_rows is direct)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "True"]
