from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sdf_corpus.clean.config import CleanConfig
from sdf_corpus.clean.inputs import read_documents
from sdf_corpus.clean.pipeline import clean
from sdf_corpus.errors import InputError


def test_jsonl_maps_known_fields_and_metadata(tmp_path: Path) -> None:
    src = tmp_path / "a.jsonl"
    src.write_text(
        json.dumps(
            {
                "id": 7,
                "text": "hello",
                "attributes": '{"tone": "warm"}',
                "format": "chat",
                "messages": [{"role": "user", "content": "hi"}],
                "extra": [1, 2],
            }
        )
        + "\n\n"
    )
    (doc,) = read_documents([src])
    assert doc.id == "7"
    assert doc.attributes == {"tone": "warm"}
    assert doc.messages == [{"role": "user", "content": "hi"}]
    assert doc.metadata == {"extra": [1, 2]}


def test_parquet_input(tmp_path: Path) -> None:
    src = tmp_path / "a.parquet"
    pq.write_table(pa.table({"text": ["one", "two"], "lang": ["en", "en"]}), src)
    docs = list(read_documents([src]))
    assert [d.text for d in docs] == ["one", "two"]
    assert docs[0].metadata == {"lang": "en"}


@pytest.mark.parametrize("kind", ["jsonl", "parquet"])
def test_missing_text_column(tmp_path: Path, kind: str) -> None:
    src = tmp_path / f"a.{kind}"
    if kind == "jsonl":
        src.write_text(json.dumps({"body": "x", "id": "1"}) + "\n")
    else:
        pq.write_table(pa.table({"body": ["x"], "id": ["1"]}), src)
    with pytest.raises(InputError, match=r"no 'text' column \(found: body, id\) \(name the column"):
        list(read_documents([src]))


def test_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    src = tmp_path / "a.jsonl"
    src.write_text('{"text": "ok"}\n{"text": oops}\n')
    with pytest.raises(InputError, match=r"a\.jsonl:2: not valid JSON"):
        list(read_documents([src]))


def test_bad_second_file_fails_before_output(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    good.write_text(json.dumps({"text": "fine"}) + "\n")
    bad.write_text(json.dumps({"content": "x"}) + "\n")
    out = tmp_path / "out"
    with pytest.raises(InputError):
        clean(read_documents([good, bad]), out, CleanConfig(), progress=False)
    assert not out.exists()
