"""One streaming pass over the shards, keeping counters and bounded samples only.

Shards are read in column batches; nothing grows with the corpus except one
integer per document for the length quantiles. Samples are chosen by a hash
of the document id, so the same corpus always gives the same samples.
"""

from __future__ import annotations

import heapq
import json
import re
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xxhash
from tqdm import tqdm

from sdf_corpus.report.diversity import OpeningCounter
from sdf_corpus.runfolder.rows import iter_rows

__all__ = ["SCAN_COLUMNS", "ScanLimits", "ShardScan", "scan_shards"]

SCAN_COLUMNS = (
    "id",
    "text",
    "genre",
    "format",
    "messages",
    "principle_id",
    "persona_id",
    "attributes",
    "n_tokens",
)
_BATCH_ROWS = 1024
_HASH_SPACE = 2**64


@dataclass(frozen=True)
class ScanLimits:
    diversity_docs: int = 20_000  # documents whose prefixes feed the n-gram measures
    diversity_chars: int = 2_000  # prefix of each sampled document
    samples_per_genre: int = 3
    sample_chars: int = 1_200


def _rank(doc_id: str, salt: str) -> int:
    return xxhash.xxh64_intdigest(f"{salt}:{doc_id}".encode())


def _attributes(value: Any) -> dict[str, Any]:
    """A row's attributes, stored as a JSON string or as a native struct/map."""
    if isinstance(value, dict):
        return value
    if isinstance(value, list):  # a Parquet map reads back as (key, value) pairs
        return {k: v for k, v in value if isinstance(k, str)}
    if not value:
        return {}
    try:
        parsed = json.loads(value)
    except (TypeError, json.JSONDecodeError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


@dataclass
class ShardScan:
    limits: ScanLimits
    total_docs: int
    excluded_names: Sequence[str] = ()
    subject_names: Sequence[str] = ()
    docs: Counter[str] = field(default_factory=Counter)
    tokens: Counter[str] = field(default_factory=Counter)
    cells: Counter[tuple[str, str]] = field(default_factory=Counter)
    personas: Counter[str] = field(default_factory=Counter)
    cast: Counter[str] = field(default_factory=Counter)  # persona ids of cast documents
    about: Counter[tuple[str, str]] = field(default_factory=Counter)  # (genre, about)
    subject_named: Counter[tuple[str, str]] = field(default_factory=Counter)
    authors: Counter[str] = field(default_factory=Counter)
    formats: Counter[str] = field(default_factory=Counter)
    lengths: dict[str, array[int]] = field(default_factory=dict)
    openings: OpeningCounter = field(default_factory=OpeningCounter)
    excluded_hits: Counter[str] = field(default_factory=Counter)
    excluded_examples: dict[str, str] = field(default_factory=dict)
    diversity_texts: list[str] = field(default_factory=list)
    _samples: dict[str, list[tuple[int, str, dict[str, Any]]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = [re.escape(n) for n in self.excluded_names if n]
        self._excluded = (
            re.compile(r"(?<!\w)(" + "|".join(names) + r")(?!\w)", re.IGNORECASE) if names else None
        )
        subject = [re.escape(n) for n in self.subject_names if n]
        self._subject = (
            re.compile(r"(?<!\w)(" + "|".join(subject) + r")(?!\w)") if subject else None
        )
        share = min(1.0, self.limits.diversity_docs / max(1, self.total_docs))
        self._diversity_cut = int(share * (_HASH_SPACE - 1))

    def add(self, row: dict[str, Any]) -> None:
        genre, text = row.get("genre") or "", row.get("text") or ""
        n_tokens = int(row.get("n_tokens") or 0)
        self.docs[genre] += 1
        self.tokens[genre] += n_tokens
        self.cells[(genre, row.get("principle_id") or "")] += 1
        self.personas[row.get("persona_id") or ""] += 1
        attributes = _attributes(row.get("attributes"))
        self.authors[str(attributes.get("author_id") or "")] += 1
        self._count_about(genre, str(attributes.get("about") or ""), row, text)
        self.formats[row.get("format") or "document"] += 1
        self.lengths.setdefault(genre, array("q")).append(n_tokens)
        self.openings.add(text)
        self._check_excluded(row, text)
        doc_id = str(row.get("id") or "")
        if (
            _rank(doc_id, "diversity") <= self._diversity_cut
            and len(self.diversity_texts) < self.limits.diversity_docs
        ):
            self.diversity_texts.append(text[: self.limits.diversity_chars])
        self._offer_sample(genre, doc_id, row, text)

    def _count_about(self, genre: str, about: str, row: dict[str, Any], text: str) -> None:
        """Who the document is about, whether it names the subject, and the cast's names."""
        self.about[(genre, about)] += 1
        if about == "cast":
            self.cast[row.get("persona_id") or ""] += 1
        if about and self._subject is not None and self._subject.search(text):
            self.subject_named[(genre, about)] += 1

    def _check_excluded(self, row: dict[str, Any], text: str) -> None:
        if self._excluded is None:
            return
        found = {m.group(1).casefold() for m in self._excluded.finditer(text)}
        for name in found:
            self.excluded_hits[name] += 1
            self.excluded_examples.setdefault(name, str(row.get("id") or ""))

    def _offer_sample(self, genre: str, doc_id: str, row: dict[str, Any], text: str) -> None:
        # A max-heap of negated ranks keeps the k smallest ranks: a bottom-k sample.
        heap = self._samples.setdefault(genre, [])
        rank = -_rank(doc_id, "sample")
        if len(heap) >= self.limits.samples_per_genre and rank <= heap[0][0]:
            return
        entry = {
            "id": doc_id,
            "genre": genre,
            "format": row.get("format") or "document",
            "principle_id": row.get("principle_id") or "",
            "persona_id": row.get("persona_id") or "",
            "n_tokens": int(row.get("n_tokens") or 0),
            "text": text[: self.limits.sample_chars],
            "truncated": len(text) > self.limits.sample_chars,
        }
        if len(heap) >= self.limits.samples_per_genre:
            heapq.heapreplace(heap, (rank, doc_id, entry))
        else:
            heapq.heappush(heap, (rank, doc_id, entry))

    def samples(self) -> dict[str, list[dict[str, Any]]]:
        return {
            g: [e for _, _, e in sorted(h, key=lambda x: -x[0])]
            for g, h in sorted(self._samples.items())
        }


def scan_shards(
    paths: Sequence[Path],
    total_docs: int,
    limits: ScanLimits,
    excluded_names: Iterable[str] = (),
    progress: bool = False,
    subject_names: Iterable[str] = (),
    observers: Sequence[Callable[[dict[str, Any]], None]] = (),
) -> ShardScan:
    """The counters of every row; each observer (the meaning sample) sees each row too."""
    scan = ShardScan(limits, total_docs, tuple(excluded_names), tuple(subject_names))
    bar = tqdm(total=len(paths), unit="shard", desc="report", disable=not progress)
    for row in iter_rows(paths, SCAN_COLUMNS, _BATCH_ROWS, done=lambda _: bar.update(1)):
        scan.add(row)
        for observe in observers:
            observe(row)
    bar.close()
    return scan
