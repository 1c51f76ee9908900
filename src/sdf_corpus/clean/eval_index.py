"""An index of word n-grams from evaluation items, for decontamination.

Evaluation items (a probe set's `probes.jsonl`, or any JSONL/Parquet file a user
names) are read field by field: every string value of a record, nested lists
and mappings included, unless `text_fields` names the fields to read. Words
are the quality filters' (`filters.base.words`: lower-cased letters, apostrophes
inside words kept), so a document's words are already in hand; each field gives
hashes of every run of n consecutive words, and n-grams never span two fields.
A record's id is its `id` (or `probe_id`) field, else `FILE:LINE`.

The index is a sorted uint64 array and a parallel array naming the item each
n-gram came from, behind a one-byte-per-slot table of the hashes' top bits; a
lookup hashes a document's n-grams in a few numpy passes, drops the ~96% whose
slot is empty, and `searchsorted`s the rest. N-grams that also occur in the
`ignore` texts (the constitution, which corpus documents and probes both quote
on purpose) are removed: sharing them is not evidence that an item leaked.

Word hashes are xxh3 of the words' bytes, the same in every process, so the
clean stage builds the index once and hands it to workers that start from a
forkserver (a few MB of arrays) instead of each reading the files again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sdf_corpus.clean.filters.chunk import WordChunk, word_hashes
from sdf_corpus.errors import InputError
from sdf_corpus.io.readers import iter_jsonl

__all__ = ["EvalIndex", "build_index", "eval_files", "ngram_hashes", "word_hashes"]

_PRIME = np.uint64(0x100000001B3)  # FNV's 64-bit prime: an odd multiplier mixes positions
_INVERSE = np.uint64(pow(0x100000001B3, -1, 2**64))
# The prefilter: a table of 2**23 bits (1 MiB, small enough to stay in cache),
# ~4% of them set by 300k n-grams; most of a document's n-grams stop there.
_SLOT_BITS = 23
_SLOT_SHIFT = np.uint64(64 - _SLOT_BITS)
_SEVEN = np.uint64(7)
_THREE = np.uint64(3)


def ngram_hashes(words: npt.NDArray[np.uint64], n: int) -> npt.NDArray[np.uint64]:
    """Order-sensitive hashes of every n consecutive word hashes (empty if fewer):
    sum(w[i+k] * P**k) for each i, all at once from one prefix sum (uint64
    arithmetic wraps, which is what a hash wants; P is odd, so P**-i exists)."""
    count = words.size - n + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint64)
    pw, inv = _power_tables(words.size)
    prefix = np.zeros(words.size + 1, dtype=np.uint64)
    np.cumsum(words * pw[: words.size], out=prefix[1:])
    out = (prefix[n:] - prefix[:count]) * inv[:count]
    out ^= out >> np.uint64(29)
    return out


_powers: list[npt.NDArray[np.uint64]] = []  # [P**j, P**-j] for j below their length


def _power_tables(length: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    if not _powers or _powers[0].size < length:
        size = max(1 << 12, 1 << max(0, length - 1).bit_length())
        pw = np.ones(size, dtype=np.uint64)
        inv = np.ones(size, dtype=np.uint64)
        np.cumprod(np.full(size - 1, _PRIME, dtype=np.uint64), out=pw[1:])
        np.cumprod(np.full(size - 1, _INVERSE, dtype=np.uint64), out=inv[1:])
        _powers[:] = [pw, inv]
    return _powers[0], _powers[1]


@dataclass(frozen=True)
class EvalIndex:
    n: int
    keys: npt.NDArray[np.uint64]  # sorted n-gram hashes
    owners: npt.NDArray[np.int32]  # index into `items` per key
    items: tuple[str, ...]  # "source#id" per evaluation item
    slots: npt.NDArray[np.uint8]  # bit table of the keys' top bits

    def __len__(self) -> int:
        return int(self.keys.size)

    def matches(self, text: str) -> list[tuple[str, str]]:
        """(matched n-gram, item) for each n-gram of `text` found in the index."""
        return self.matches_chunk(WordChunk.of([text]))[0]

    def matches_chunk(self, chunk: WordChunk) -> list[list[tuple[str, str]]]:
        """`matches` for every text of a chunk, looked up together: one pass of
        hashing and probing over all the chunk's words instead of one per text."""
        found: list[list[tuple[str, str]]] = [[] for _ in range(len(chunk))]
        if not self.keys.size or not chunk.ids.size:
            return found
        hashes = ngram_hashes(chunk.word_hashes(), self.n)
        slot = hashes >> _SLOT_SHIFT
        offsets = np.flatnonzero(
            (self.slots[slot >> _THREE] >> (slot & _SEVEN).astype(np.uint8)) & 1
        )
        doc_of = chunk.doc_of()
        # n-grams that run from one text into the next are not the texts' own
        offsets = offsets[offsets + self.n <= chunk.offsets[1:][doc_of[offsets]]]
        if not offsets.size:
            return found
        candidates = hashes[offsets]
        pos = np.searchsorted(self.keys, candidates)
        pos[pos == self.keys.size] = 0
        for i in np.flatnonzero(self.keys[pos] == candidates).tolist():
            at = int(offsets[i])
            doc = int(doc_of[at])
            start = at - int(chunk.offsets[doc])
            ws = chunk.words_of(doc)
            found[doc].append(
                (" ".join(ws[start : start + self.n]), self.items[self.owners[pos[i]]])
            )
        return found


def build_index(
    paths: Iterable[Path],
    n: int,
    *,
    text_fields: Sequence[str] | None = None,
    ignore: Iterable[str] = (),
) -> EvalIndex:
    items: list[str] = []
    owners: list[int] = []  # item of each field
    fields: list[str] = []
    for source, item_id, texts in _records(paths, text_fields):
        items.append(f"{source}#{item_id}")
        fields += texts
        owners += [len(items) - 1] * len(texts)
    keys, field_of = _field_ngrams(fields, n)
    all_owners = np.asarray(owners, dtype=np.int32)[field_of]
    shared, _ = _field_ngrams(list(ignore), n)
    if shared.size and keys.size:
        keep = ~np.isin(keys, shared)
        keys, all_owners = keys[keep], all_owners[keep]
    # An n-gram several items share stays once per item; a lookup names the first.
    order = np.argsort(keys)
    keys, all_owners = keys[order], all_owners[order]
    bits = np.zeros(1 << _SLOT_BITS, dtype=np.bool_)
    bits[keys >> _SLOT_SHIFT] = True
    slots = np.packbits(bits, bitorder="little")
    return EvalIndex(n, keys, all_owners, tuple(items), slots)


def _field_ngrams(fields: list[str], n: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.intp]]:
    """The n-gram hashes of every field and the field each came from, from one
    tokenisation of all fields (`WordChunk`: each distinct word hashed once);
    n-grams that would span two fields are left out."""
    if not fields:
        return np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.intp)
    chunk = WordChunk.of(fields)
    field_of = np.repeat(np.arange(len(fields)), chunk.counts)
    hashes = ngram_hashes(chunk.word_hashes(), n)
    inside = field_of[: hashes.size] == field_of[n - 1 :]
    return hashes[inside], field_of[: hashes.size][inside]


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
    from sdf_corpus.runfolder.rows import iter_parquet_rows  # late: pyarrow is slow to import

    for path in eval_files(paths):
        rows = (
            iter_parquet_rows(path)
            if path.suffix == ".parquet"
            else iter_jsonl(path, "an evaluation file (JSON Lines)", bare="text")
        )
        for line, row in rows:
            item_id = row.get("id") or row.get("probe_id") or f"{path.name}:{line}"
            chosen = row if text_fields is None else {k: row.get(k) for k in text_fields}
            yield path.name, str(item_id), list(_strings(chosen))


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
