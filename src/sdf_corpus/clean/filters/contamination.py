"""Drop documents that share long word n-grams with evaluation items.

A corpus that contains an evaluation's questions teaches the answers, not the
principles, and the evaluation then measures memory. Following datatrove's
n-gram decontamination, a document is dropped as `contamination` when at least
`min_matches` of its n-word runs (default: one run of 12 words) occur in an
evaluation item; the first matched n-gram and the item it came from are noted
for rejected/. docs/clean.md explains the defaults.

The filter runs last, so documents already dropped for another reason cost
nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

from sdf_corpus.clean.eval_index import EvalIndex, build_index, eval_files
from sdf_corpus.clean.filters.base import KEEP, Filter, Verdict
from sdf_corpus.clean.filters.chunk import word_chunk
from sdf_corpus.document import Document

__all__ = ["ContaminationFilter", "adopt_index", "load_index"]


class ContaminationFilter(Filter):
    name = "contamination"

    def __init__(self, index: EvalIndex, min_matches: int = 1) -> None:
        self.index = index
        self.min_matches = min_matches

    def check(self, doc: Document) -> Verdict:
        return self.check_many([doc])[0]

    def check_many(self, docs: Sequence[Document]) -> list[Verdict]:
        chunk = word_chunk([doc.text for doc in docs])
        return [
            self._verdict(doc, found)
            for doc, found in zip(docs, self.index.matches_chunk(chunk), strict=True)
        ]

    def _verdict(self, doc: Document, found: list[tuple[str, str]]) -> Verdict:
        if len(found) < self.min_matches:
            return KEEP
        ngram, item = found[0]
        source, _, item_id = item.partition("#")
        self.note(
            doc,
            ngram=ngram,
            probe_id=item_id,
            source=source,
            matches=len(found),
        )
        return False, self.name


_Key = tuple[tuple[tuple[str, int, int], ...], int, "tuple[str, ...] | None", tuple[str, ...]]
_adopted: dict[_Key, EvalIndex] = {}


def _key(
    paths: Sequence[Path], n: int, text_fields: Sequence[str] | None, ignore: Sequence[Path]
) -> _Key:
    files = eval_files(paths)
    stamp = tuple((str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    ignored = tuple(str(p) for p in ignore if p.is_file())
    return stamp, n, tuple(text_fields) if text_fields else None, ignored


def load_index(
    paths: Sequence[Path],
    n: int,
    text_fields: Sequence[str] | None,
    ignore: Sequence[Path],
) -> EvalIndex:
    """The index for these files, built once per process (every worker's filters
    and the parent's share it; a changed file has a new size or mtime), or the one
    `adopt_index` was given for them."""
    key = _key(paths, n, text_fields, ignore)
    return _adopted.get(key) or _cached(*key)


def adopt_index(
    index: EvalIndex,
    paths: Sequence[Path],
    n: int,
    text_fields: Sequence[str] | None,
    ignore: Sequence[Path],
) -> None:
    """Use `index`, built by another process from these files, instead of building it."""
    _adopted[_key(paths, n, text_fields, ignore)] = index


@functools.lru_cache(maxsize=4)
def _cached(
    stamp: tuple[tuple[str, int, int], ...],
    n: int,
    text_fields: tuple[str, ...] | None,
    ignored: tuple[str, ...],
) -> EvalIndex:
    texts = [Path(p).read_text(encoding="utf-8") for p in ignored]
    return build_index([Path(s[0]) for s in stamp], n, text_fields=text_fields, ignore=texts)
