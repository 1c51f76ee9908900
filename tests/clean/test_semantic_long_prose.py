"""The semantic step on documents of a build's length: real prose of different texts on
one subject must stay apart.

The short calibration set holds pieces of 80-150 words; a build's documents run to
500-2,000. Over a longer text more of its distinct words are the language's common ones,
so two different texts share more of their word set and their vectors sit closer, and a
margin over a small genre's farthest document is easier to clear (docs/clean.md). This
test takes this repository's own prose (the example constitution, README.md, docs/*.md, frozen
in tests/data/semantic_calibration/repo_prose.jsonl):
one subject, many different texts, cut into document-sized pieces, no two of them a
retelling (`semantic_calibration.repo_prose_pieces`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sdf_corpus.clean.config import CleanConfig
from sdf_corpus.clean.pipeline import clean
from semantic_calibration import repo_prose_pieces


@pytest.mark.parametrize("size", [12, 30])
def test_different_long_texts_on_one_subject_are_not_merged(tmp_path: Path, size: int) -> None:
    docs = repo_prose_pieces()[:size]
    assert len(docs) == size
    config = CleanConfig.model_validate({"workers": 1})
    clean(iter(docs), tmp_path, config, progress=False)
    rows = [json.loads(x) for x in (tmp_path / "rejected" / "rejected.jsonl").open()]
    merged = [
        (r["id"], r["duplicate_of"], r["detail"])
        for r in rows
        if r["reason"] == "semantic_duplicate"
    ]
    assert not merged, (
        f"{len(merged)} of {size} different texts dropped as retellings: {merged[:3]}"
    )
