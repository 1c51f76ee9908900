"""`sdf-corpus inspect RUN --similar DOC_ID`: a document's nearest neighbours by meaning.

Two streaming passes over the shards: the first finds the document, the second embeds
the candidates (its genre's documents, or every genre's with `any_genre`) in small
batches through the report's `SemanticSample`, so at most `limit` candidates are
embedded and held (one vector and one first line each), chosen by the same hash of
the id as the report's sample: the report's clusters reappear here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sdf_corpus.embed import Embedder, load_embedder
from sdf_corpus.errors import InputError
from sdf_corpus.io import shown
from sdf_corpus.report.semantic import SemanticLimits, SemanticSample, embed_with, line_of
from sdf_corpus.runfolder import RunFolder, read_json_or_empty
from sdf_corpus.runfolder.rows import iter_rows

__all__ = ["SIMILAR_CANDIDATES", "Neighbour", "Similar", "find_similar", "format_similar"]

SIMILAR_CANDIDATES = 10_000
_COLUMNS = ("id", "genre", "format", "principle_id", "text")
_ANY = "*"  # the one group every candidate joins when genres are not kept apart


@dataclass(frozen=True)
class Neighbour:
    id: str
    genre: str
    principle_id: str
    cosine: float
    first_line: str


@dataclass(frozen=True)
class Similar:
    doc: Neighbour  # the document asked about (cosine 1)
    neighbours: list[Neighbour]
    searched: int  # candidates embedded
    of: int  # documents they were chosen from
    scope: str  # "genre G" or "every genre"
    embedder: str


def _rows(run_dir: Path) -> Iterator[dict[str, Any]]:
    paths = RunFolder(run_dir).shards()
    if not paths:
        raise InputError(
            f"{shown(run_dir)}: no shards in {shown(run_dir / 'shards')} "
            "(run `sdf-corpus build` or `sdf-corpus clean` first)"
        )
    return iter_rows(paths, _COLUMNS)


def _find(run_dir: Path, doc_id: str) -> dict[str, Any]:
    for row in _rows(run_dir):
        if row.get("id") == doc_id:
            return row
    raise InputError(
        "--similar",
        f"{doc_id!r} is not the id of a kept document in {shown(run_dir)}",
        f"ids head each document in `sdf-corpus inspect {shown(run_dir)}` (== ID | ...) "
        "and list the clusters in report.json (semantic.clusters)",
    )


def _counts(run_dir: Path) -> Mapping[str, int]:
    by_genre = read_json_or_empty(RunFolder(run_dir).manifest).get("by_genre", {})
    return {g: int(v.get("docs", 0)) for g, v in by_genre.items() if isinstance(v, dict)}


def find_similar(
    run_dir: Path,
    doc_id: str,
    n: int = 5,
    *,
    any_genre: bool = False,
    limit: int = SIMILAR_CANDIDATES,
    embedder: Embedder | None = None,
) -> Similar:
    """The `n` documents closest to `doc_id` by cosine, among at most `limit` candidates."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(shown(run_dir), "no such run directory", "give the folder a build wrote")
    target = _find(run_dir, doc_id)
    genre = str(target.get("genre") or "")
    embedder = embedder or load_embedder()
    counts = _counts(run_dir)
    group_docs = {_ANY: sum(counts.values())} if any_genre else {genre: counts.get(genre, 0)}
    limits = SemanticLimits(docs_per_genre=limit, max_docs=limit)
    sample = SemanticSample(embed_with(embedder, limits), group_docs, limits)
    for row in _rows(run_dir):
        if any_genre:
            sample.add({**row, "genre": _ANY})
        elif row.get("genre") == genre and row.get("id") != doc_id:
            sample.add(row)
    text = str(target.get("text") or "")
    vector = embedder.embed([text[: limits.embed_chars]])[0]
    docs, x = sample.groups().get(_ANY if any_genre else genre, ([], np.zeros((0, 1))))
    keep = [i for i, d in enumerate(docs) if d.id != doc_id]
    cosines = x[keep] @ vector if keep else np.zeros(0)
    order = np.argsort(-cosines, kind="stable")[:n]
    neighbours = [
        Neighbour(d.id, d.genre, d.principle_id, round(float(cosines[j]), 4), d.line)
        for j in order
        for d in [docs[keep[j]]]
    ]
    return Similar(
        doc=Neighbour(doc_id, genre, str(target.get("principle_id") or ""), 1.0, line_of(target)),
        neighbours=neighbours,
        searched=len(keep),
        of=sample.offered.get(_ANY if any_genre else genre, 0),
        scope="every genre" if any_genre else f"genre {genre or '(none)'}",
        embedder=embedder.name,
    )


def format_similar(result: Similar) -> str:
    d = result.doc
    sampled = (
        "all of them"
        if result.searched >= result.of
        else f"the {result.searched:,} with the lowest xxh64 of their id"
    )
    lines = [
        f"== {d.id} | {d.genre or '-'} | {d.principle_id or '-'} | {d.first_line}",
        f"nearest of {result.of:,} documents in {result.scope} ({sampled}), by cosine of "
        f"{result.embedder}:",
    ]
    if not result.neighbours:
        lines.append("  (no other document to compare with)")
    for nb in result.neighbours:
        where = f"{nb.genre} | " if result.scope == "every genre" else ""
        lines.append(
            f"  {nb.cosine:.4f}  {nb.id} | {where}{nb.principle_id or '-'} | {nb.first_line}"
        )
    return "\n".join(lines)
