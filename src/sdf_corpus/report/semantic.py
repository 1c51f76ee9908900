"""Diversity of meaning: what the corpus says, not only which words it uses.

During the report's one pass over the shards, `SemanticSample` keeps a bounded,
deterministic sample per genre (the documents with the lowest xxh64 of their id)
and embeds it with the offline embedder (`sdf_corpus.embed`) in small batches:
it holds one float32 vector and one short first line per sampled document, never
the texts. `semantic_section` then computes, per genre and per genre x principle
cell, the nearest-neighbour cosine distribution, the near-duplicate clusters (and
the share of documents in them), the Vendi score and the mean pairwise cosine,
the largest clusters, and a 2-D map; figures in docs/report.md.
"""

from __future__ import annotations

import functools
import heapq
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xxhash

from sdf_corpus.embed import Embedder
from sdf_corpus.report import similarity as sim
from sdf_corpus.report.ideapool import IdeaPoolFigures
from sdf_corpus.report.similarity import Vectors

__all__ = [
    "DEFAULT_THRESHOLD",
    "SemanticLimits",
    "SemanticSample",
    "embed_with",
    "first_line",
    "line_of",
    "semantic_rank",
    "semantic_section",
]

DEFAULT_THRESHOLD = 0.9  # PersonaHub's cosine cut; used when the run records none
_HASH_SPACE = 2**64
_SALT = "semantic"


@dataclass(frozen=True)
class SemanticLimits:
    threshold: float = DEFAULT_THRESHOLD  # cosine at or above which two documents cluster
    docs_per_genre: int = 2_000  # the sample each genre's figures are computed on
    max_docs: int = 20_000  # over all genres: many genres share it evenly
    embed_chars: int = 4_000  # prefix of each sampled document that is embedded
    map_points: int = 3_000  # points on the corpus map (lowest ranks of the samples)
    clusters_shown: int = 10
    members_shown: int = 4
    line_chars: int = 120
    batch: int = 256  # texts handed to the embedder at once: the most text the sample holds
    embed_batch: int = 32  # the embedder's own batch: it pads to the longest text in it,
    # so 256 texts of 4,000 characters took ~400 MiB and ran half as fast as 32


Embed = Callable[[Sequence[str]], Vectors]


def embed_with(embedder: Embedder, limits: SemanticLimits) -> Embed:
    return functools.partial(embedder.embed, batch_size=limits.embed_batch)


def semantic_rank(doc_id: str) -> int:
    """The hash that orders documents for the sample (and for `inspect --similar`)."""
    return xxhash.xxh64_intdigest(f"{_SALT}:{doc_id}".encode())


def first_line(text: str, chars: int = 120, *, chat: bool = False) -> str:
    """The first non-blank line, markdown heading marks dropped, cut to `chars`. A chat's
    text starts with its system prompt, which many conversations share: its line is the
    first user turn's instead (when there is one)."""
    lines = text.splitlines()
    if chat:
        lines = [line for line in lines if line.startswith("User: ")] or lines
    for line in lines:
        stripped = line.strip().lstrip("#").strip()
        if stripped:
            return stripped if len(stripped) <= chars else stripped[: chars - 1] + "…"
    return ""


def line_of(row: Mapping[str, Any], chars: int = 120) -> str:
    """The line a document is shown by in clusters and neighbour lists."""
    return first_line(str(row.get("text") or ""), chars, chat=row.get("format") == "chat")


@dataclass
class _Doc:
    rank: int
    id: str
    genre: str
    principle_id: str
    line: str


@dataclass
class SemanticSample:
    """Up to k documents per genre, the lowest `semantic_rank`s, embedded; k is
    `docs_per_genre`, or `max_docs` shared evenly when the manifest lists more genres.

    `genre_docs` (the manifest's documents per genre) sets a rank cut (`_cut`) so that
    at scale only a little over k documents per genre are embedded at all; the bottom-k
    heap then keeps exactly the lowest ranks among them. A genre the manifest does not
    list is cut by the heap alone.
    """

    embed: Embed
    genre_docs: Mapping[str, int] = field(default_factory=dict)
    limits: SemanticLimits = field(default_factory=SemanticLimits)
    offered: dict[str, int] = field(default_factory=dict)
    _heaps: dict[str, list[tuple[int, int, _Doc, Vectors]]] = field(default_factory=dict)
    _pending: list[tuple[_Doc, str]] = field(default_factory=list)
    _seq: int = 0

    @property
    def per_genre(self) -> int:
        share = self.limits.max_docs // max(1, len(self.genre_docs))
        return max(1, min(self.limits.docs_per_genre, share))

    def _cut(self, genre: str) -> int:
        """A rank under which about k + 4·√k + 10 of the genre's documents fall: the k
        lowest are all under it unless the count falls 4 standard deviations short."""
        n, k = self.genre_docs.get(genre, 0), self.per_genre
        if n <= k:
            return _HASH_SPACE
        return int(min(1.0, (k + 4 * math.sqrt(k) + 10) / n) * (_HASH_SPACE - 1))

    def add(self, row: Mapping[str, Any]) -> None:
        genre, doc_id = str(row.get("genre") or ""), str(row.get("id") or "")
        self.offered[genre] = self.offered.get(genre, 0) + 1
        rank = semantic_rank(doc_id)
        heap = self._heaps.setdefault(genre, [])
        full = len(heap) >= self.per_genre
        if rank > self._cut(genre) or (full and -rank <= heap[0][0]):
            return
        text = str(row.get("text") or "")
        doc = _Doc(rank, doc_id, genre, str(row.get("principle_id") or ""), line_of(row))
        self._pending.append((doc, text[: self.limits.embed_chars]))
        if len(self._pending) >= self.limits.batch:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        vectors = self.embed([text for _, text in self._pending])
        for (doc, _), vector in zip(self._pending, vectors, strict=True):
            heap = self._heaps[doc.genre]
            # A max-heap on rank (negated) keeps the k lowest; seq breaks no real tie. The
            # copy lets the batch's matrix go: a row view would keep all of it alive.
            entry = (-doc.rank, self._seq, doc, vector.copy())
            self._seq += 1
            if len(heap) < self.per_genre:
                heapq.heappush(heap, entry)
            elif -doc.rank > heap[0][0]:
                heapq.heapreplace(heap, entry)
        self._pending.clear()

    def groups(self) -> dict[str, tuple[list[_Doc], Vectors]]:
        """Per genre: the sampled documents in rank order and their vectors."""
        self.flush()
        out: dict[str, tuple[list[_Doc], Vectors]] = {}
        for genre in sorted(self._heaps):
            entries = sorted(self._heaps[genre], key=lambda e: -e[0])
            if entries:
                matrix = np.stack([e[3] for e in entries]).astype(np.float32)
                out[genre] = ([e[2] for e in entries], matrix)
        return out


def _figures(x: Vectors, threshold: float) -> tuple[dict[str, Any], np.ndarray]:
    best, _ = sim.nearest(x)
    labels = sim.clusters(x, threshold)
    sizes = np.bincount(labels) if len(labels) else np.zeros(0, dtype=np.int64)
    in_clusters = int(sizes[sizes >= 2].sum())
    return {
        "sampled": len(x),
        "nearest_neighbour": sim.quantiles(best),
        "docs_in_clusters": in_clusters,
        "cluster_share": round(in_clusters / len(x), 4) if len(x) else 0.0,
        "clusters": int((sizes >= 2).sum()),
        "largest_cluster": int(sizes.max()) if len(sizes) and sizes.max() >= 2 else 0,
        "distinct_at_threshold": len(sizes),
        "vendi_score": sim.vendi_score(x),
        "mean_pairwise_cosine": sim.mean_pairwise(x),
    }, labels


def _cluster_rows(
    docs: list[_Doc], x: Vectors, labels: np.ndarray, limits: SemanticLimits
) -> list[dict[str, Any]]:
    """Clusters of two or more, each with its first members (lowest rank first) and each
    member's cosine to the first one."""
    out = []
    sizes = np.bincount(labels) if len(labels) else np.zeros(0, dtype=np.int64)
    for label in np.flatnonzero(sizes >= 2):
        members = np.flatnonzero(labels == label)
        shown = members[: limits.members_shown]
        cosines = x[shown] @ x[shown[0]]
        out.append(
            {
                "genre": docs[shown[0]].genre,
                "size": len(members),
                "members": [
                    {
                        "id": docs[i].id,
                        "principle_id": docs[i].principle_id,
                        "first_line": docs[i].line,
                        "cosine_to_first": round(float(c), 4),
                    }
                    for i, c in zip(shown, cosines, strict=True)
                ],
            }
        )
    return out


def _cells(docs: list[_Doc], x: Vectors, threshold: float) -> list[dict[str, Any]]:
    """The genre's figures again per principle (none when no document carries one)."""
    principles = np.array([d.principle_id for d in docs])
    if not any(principles):
        return []
    rows = []
    for p in sorted(set(principles.tolist())):
        idx = np.flatnonzero(principles == p)
        figures, _ = _figures(x[idx], threshold)
        rows.append({"genre": docs[0].genre, "principle_id": p, **figures})
    return rows


def _map(groups: Mapping[str, tuple[list[_Doc], Vectors]], points: int) -> dict[str, Any]:
    """A PCA of the lowest-rank `points` sampled documents over all genres."""
    ranked = sorted(
        (d.rank, genre, i) for genre, (docs, _) in groups.items() for i, d in enumerate(docs)
    )[:points]
    if not ranked:
        return {"method": "PCA (numpy SVD)", "points": [], "genres": [], "explained": [0.0, 0.0]}
    genres = sorted(groups)
    x = np.stack([groups[g][1][i] for _, g, i in ranked])
    xy, explained = sim.pca_2d(x)
    return {
        "method": "PCA (numpy SVD) of the embeddings, first two components",
        "genres": genres,
        "explained": explained,
        "points": [
            [round(float(a), 4), round(float(b), 4), genres.index(g)]
            for (a, b), (_, g, _) in zip(xy, ranked, strict=True)
        ],
    }


def semantic_section(
    sample: SemanticSample,
    clean_settings: Mapping[str, Any] | None,
    pool: IdeaPoolFigures,
    removed: dict[str, Any],
    embedder_name: str,
) -> dict[str, Any]:
    limits = sample.limits
    threshold = limits.threshold
    groups = sample.groups()
    by_genre, by_cell, clusters = [], [], []
    for genre, (docs, x) in groups.items():
        figures, labels = _figures(x, threshold)
        by_genre.append(
            {
                "genre": genre,
                "docs": sample.offered.get(genre, 0),
                **figures,
                "ideas": pool.genre_row(genre),
            }
        )
        by_cell += [
            {**c, "ideas": pool.cell_row(genre, c["principle_id"])}
            for c in _cells(docs, x, threshold)
        ]
        clusters += _cluster_rows(docs, x, labels, limits)
    clusters.sort(key=lambda c: (-c["size"], c["genre"], c["members"][0]["id"]))
    return {
        "embedder": embedder_name,
        "threshold": threshold,
        "clean_semantic": dict(clean_settings) if clean_settings is not None else None,
        "sample": {
            "docs": sum(len(d) for d, _ in groups.values()),
            "docs_per_genre": sample.per_genre,
            "embed_chars": limits.embed_chars,
            "method": f"per genre, the {sample.per_genre:,} documents with the lowest "
            f"xxh64('semantic:' + id) (every document of a smaller genre); the first "
            f"{limits.embed_chars:,} characters of each are embedded",
        },
        "by_genre": by_genre,
        "by_cell": by_cell,
        "clusters": clusters[: limits.clusters_shown],
        "clusters_total": len(clusters),
        "removed_by_clean": removed,
        "map": _map(groups, limits.map_points),
        "idea_pool": pool.to_json(),
    }
