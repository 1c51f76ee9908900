"""Set aside probes that an existing corpus already contains.

The clean stage drops corpus documents that share long n-grams with probes; when
the corpus exists first (a probe set written for a corpus already built), the
check runs the other way: a probe sharing a 12-word run with a corpus document
would measure recall of that document, so it leaves the set. N-grams of the
constitution are ignored, since both sides quote it on purpose.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sdf_corpus.clean.config import DecontaminationConfig
from sdf_corpus.clean.eval_index import build_index
from sdf_corpus.clean.inputs import read_documents
from sdf_corpus.errors import InputError
from sdf_corpus.runfolder import RunFolder, shard_paths
from sdf_corpus.spec.load import Corpus

__all__ = ["corpus_overlaps"]

Overlap = tuple[dict[str, Any], tuple[str, str]]


def corpus_overlaps(rows: list[dict[str, Any]], paths: list[Path], corpus: Corpus) -> list[Overlap]:
    """Each probe row that shares an n-gram with a document of `paths`, with the
    first such document's id and the shared n-gram."""
    if not paths or not rows:
        return []
    n = DecontaminationConfig().ngram
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "probes.jsonl"
        staged.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        index = build_index([staged], n, ignore=[corpus.constitution.text])
    by_id = {r["id"]: r for r in rows}
    found: dict[str, tuple[str, str]] = {}
    for doc_id, text in _corpus_texts(paths):
        for ngram, item in index.matches(text):
            found.setdefault(item.partition("#")[2], (doc_id, ngram))
    return [(by_id[pid], hit) for pid, hit in found.items()]


def _corpus_texts(paths: list[Path]) -> Iterator[tuple[str, str]]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            shards = RunFolder(path).shards() or shard_paths(path)
            if not shards:
                raise InputError(
                    f"{path}: no shards/*.parquet here (probes.check_corpus takes run folders "
                    "or JSONL/Parquet files)"
                )
            files.extend(shards)
        else:
            files.append(path)
    for doc in read_documents(files):
        yield doc.id, doc.text
