"""An index of word n-grams from evaluation items, for decontamination.

Evaluation items (a probe set's `probes.jsonl`, or any JSONL/Parquet file a user
names) are read field by field: every string value of a record, nested lists
and mappings included, unless `text_fields` names the fields to read. Each
field's lower-cased words (the same tokenisation the quality filters use) give
hashes of every run of n consecutive words, so n-grams never span two fields.
A record's id is its `id` (or `probe_id`) field, else `FILE:LINE`.

The index is a sorted uint64 array and a parallel array naming the item each
n-gram came from; a lookup is one `searchsorted` over a document's n-gram
hashes. N-grams that also occur in the `ignore` texts (the constitution, which
corpus documents and probes both quote on purpose) are removed: sharing them
is not evidence that an evaluation item leaked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import xxhash

from sdf_corpus.clean.filters.base import words
from sdf_corpus.errors import InputError

__all__ = ["EvalIndex", "build_index", "eval_files", "ngram_hashes"]

_PRIME = np.uint64(0x100000001B3)  # FNV's 64-bit prime: an odd multiplier mixes positions


def ngram_hashes(ws: Sequence[str], n: int) -> npt.NDArray[np.uint64]:
    """Order-sensitive 64-bit hashes of every n consecutive words (empty if fewer)."""
    count = len(ws) - n + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint64)
    # Hash each distinct word once: documents repeat most of their words.
    vocab = {w: i for i, w in enumerate(dict.fromkeys(ws))}
    encoded = map(str.encode, vocab)
    word_hash = np.fromiter(map(xxhash.xxh64_intdigest, encoded), dtype=np.uint64, count=len(vocab))
    ids = np.fromiter(map(vocab.__getitem__, ws), dtype=np.int64, count=len(ws))
    wh = word_hash[ids]
    out = wh[:count].copy()
    for j in range(1, n):  # uint64 arithmetic wraps, which is what a hash wants
        out *= _PRIME
        out += wh[j : j + count]
    return out


@dataclass(frozen=True)
class EvalIndex:
    n: int
    keys: npt.NDArray[np.uint64]  # sorted n-gram hashes
    owners: npt.NDArray[np.int32]  # index into `items` per key
    items: tuple[str, ...]  # "source#id" per evaluation item

    def __len__(self) -> int:
        return int(self.keys.size)

    def matches(self, ws: Sequence[str]) -> list[tuple[int, str]]:
        """(word offset, item) of each n-gram of `ws` found in the index."""
        if not self.keys.size:
            return []
        hashes = ngram_hashes(ws, self.n)
        if not hashes.size:
            return []
        pos = np.searchsorted(self.keys, hashes)
        pos[pos == self.keys.size] = 0
        hit = np.flatnonzero(self.keys[pos] == hashes)
        return [(int(i), self.items[int(self.owners[pos[i]])]) for i in hit]


def build_index(
    paths: Iterable[Path],
    n: int,
    *,
    text_fields: Sequence[str] | None = None,
    ignore: Iterable[str] = (),
) -> EvalIndex:
    keys: list[npt.NDArray[np.uint64]] = []
    owners: list[npt.NDArray[np.int32]] = []
    items: list[str] = []
    for source, item_id, texts in _records(paths, text_fields):
        owner = len(items)
        items.append(f"{source}#{item_id}")
        for text in texts:
            hashes = ngram_hashes(words(text), n)
            keys.append(hashes)
            owners.append(np.full(hashes.size, owner, dtype=np.int32))
    all_keys = np.concatenate(keys) if keys else np.empty(0, dtype=np.uint64)
    all_owners = np.concatenate(owners) if owners else np.empty(0, dtype=np.int32)
    shared = [ngram_hashes(words(text), n) for text in ignore]
    if shared and all_keys.size:
        keep = ~np.isin(all_keys, np.concatenate(shared))
        all_keys, all_owners = all_keys[keep], all_owners[keep]
    # One owner per n-gram (the first item that has it) keeps lookups exact and small.
    all_keys, first = np.unique(all_keys, return_index=True)
    return EvalIndex(n, all_keys, all_owners[first], tuple(items))


def eval_files(paths: Iterable[Path]) -> list[Path]:
    """Expand a probe-set folder to its probes.jsonl; check every file exists."""
    out = []
    for path in paths:
        if path.is_dir():
            path = path / "probes.jsonl"
        if not path.is_file():
            raise InputError(
                f"{path}: evaluation file not found (clean.decontamination.files takes JSONL "
                "or Parquet files, or a probe-set folder holding probes.jsonl)"
            )
        out.append(path)
    return out


def _records(
    paths: Iterable[Path], text_fields: Sequence[str] | None
) -> Iterator[tuple[str, str, list[str]]]:
    for path in eval_files(paths):
        rows = _parquet_rows(path) if path.suffix == ".parquet" else _jsonl_rows(path)
        for line, row in rows:
            item_id = row.get("id") or row.get("probe_id") or f"{path.name}:{line}"
            chosen = row if text_fields is None else {k: row.get(k) for k in text_fields}
            yield path.name, str(item_id), list(_strings(chosen))


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise InputError(
                    f"{path}:{line_no}: not valid JSON (evaluation files are JSON Lines: "
                    "one object per line)"
                ) from None
            yield line_no, row if isinstance(row, dict) else {"text": row}


def _parquet_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    import pyarrow.parquet as pq

    try:
        reader = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a broken file
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from None
    row_no = 0
    for batch in reader.iter_batches(batch_size=2048):
        for row in batch.to_pylist():
            row_no += 1
            yield row_no, row


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, inner in value.items():
            if key not in ("id", "probe_id"):
                yield from _strings(inner)
    elif isinstance(value, (list, tuple)):
        for inner in value:
            yield from _strings(inner)
