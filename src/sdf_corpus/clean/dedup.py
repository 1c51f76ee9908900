"""Exact and near-duplicate removal; the first document seen in input order wins.

Exact: a set of 16-byte digests of the normalised text. Near: MinHash
signatures (computed in batches by `MinHasher`) are banded as datasketch's
`MinHashLSH` does with `params=(bands, rows)` (a candidate shares all `rows`
values of at least one band), in a plain dict per band. Banding targets a
similarity well below the threshold (21 x 6: a pair at J = 0.8 becomes a
candidate with probability 0.998), and a candidate is then verified on the
*exact* Jaccard of the two documents' shingle-hash sets, so neither banding
nor the signature's estimation noise (about 0.03 at J = 0.85 with 128
permutations) decides a pair near the threshold. Candidates whose signature
agreement is far below the threshold are discarded before that exact check.
The index keeps band keys, ids and one signature per kept document in memory;
the kept documents' shingle sets go to an unlinked temporary file and are read
back only for candidates. Texts are never held.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections import Counter
from collections.abc import Sequence

import numpy as np

from sdf_corpus.clean.config import DedupConfig
from sdf_corpus.clean.minhash import U32, MinHasher, exact_jaccard

__all__ = ["ExactDedup", "NearDedup", "NearMatch"]


class ExactDedup:
    def __init__(self) -> None:
        self._seen: set[bytes] = set()

    def is_duplicate_digest(self, d: bytes) -> bool:
        """True if a text with this `normalize.digest_normalised` was seen; otherwise
        remember it."""
        if d in self._seen:
            return True
        self._seen.add(d)
        return False


NearMatch = tuple[str, float]  # (id of the kept document, Jaccard similarity)

# A candidate whose signature agreement is this far below the threshold is not
# read back for the exact check: at J = 0.8 the estimate's standard deviation
# with 128 permutations is 0.035, so 0.15 is over 4 of them.
_PRESCREEN_MARGIN = 0.15
_SPILL_FLUSH = 1 << 20


class _SetSpill:
    """Kept documents' shingle sets in an unlinked temporary file, read back only
    for candidates: memory holds an offset per document, not its set."""

    def __init__(self) -> None:
        # Lives as long as the index; closed by `close` (and unlinked from the start).
        self._file = tempfile.TemporaryFile(prefix="sdf-near-")  # noqa: SIM115
        self._at: dict[str, tuple[int, int]] = {}
        self._buf = bytearray()
        self._flushed = 0

    def __contains__(self, key: str) -> bool:
        return key in self._at

    def add(self, key: str, data: bytes) -> None:
        self._at[key] = (self._flushed + len(self._buf), len(data))
        self._buf += data
        if len(self._buf) >= _SPILL_FLUSH:
            self._file.write(self._buf)
            self._file.flush()
            self._flushed += len(self._buf)
            self._buf.clear()

    def get(self, key: str) -> bytes:
        offset, size = self._at[key]
        if offset >= self._flushed:
            start = offset - self._flushed
            return bytes(self._buf[start : start + size])
        return os.pread(self._file.fileno(), size, offset)

    def close(self) -> None:
        self._file.close()


class NearDedup:
    def __init__(self, cfg: DedupConfig) -> None:
        self.cfg = cfg
        self.hasher = MinHasher(cfg.num_perm, cfg.ngram, cfg.seed)  # the signatures it expects
        # Per band: the band's values (as bytes) -> ids of kept documents with them.
        # One id is stored bare, several as a list: most band keys are unique.
        self._bands: list[dict[bytes, str | list[str]]] = [{} for _ in range(cfg.bands)]
        width = 4 * cfg.rows
        self._band_slices = [slice(i * width, (i + 1) * width) for i in range(cfg.bands)]
        self._signatures: dict[str, bytes] = {}
        self._sets = _SetSpill()
        # Kept id -> number of documents dropped as its near-duplicates.
        self.cluster_dups: Counter[str] = Counter()

    def process_signatures(
        self,
        ids: Sequence[str],
        sigs: Sequence[U32 | None] | U32,
        sets: Sequence[bytes | None] | None = None,
    ) -> list[NearMatch | None]:
        """Per document, in order: None (kept, indexed) or the kept document it
        duplicates, from the signatures (and shingle sets) computed by
        `MinHasher.signatures_and_sets`; without sets, the estimate decides."""
        sets = sets if sets is not None else [None] * len(ids)
        return [
            self._one(doc_id, sig, shingle_set)
            for doc_id, sig, shingle_set in zip(ids, sigs, sets, strict=True)
        ]

    def _one(self, doc_id: str, sig: U32 | None, shingles: bytes | None = None) -> NearMatch | None:
        assert sig is not None, "near dedup needs every kept document's signature"
        raw = np.ascontiguousarray(sig, dtype=np.uint32).tobytes()
        keys = list(map(raw.__getitem__, self._band_slices))
        best: NearMatch | None = None
        for key in self._candidates(keys):
            sim = self._similarity(key, sig, shingles)
            if sim >= self.cfg.threshold and (
                best is None or sim > best[1] or (sim == best[1] and key < best[0])
            ):
                best = (key, sim)
        if best is not None:
            self.cluster_dups[best[0]] += 1
            return best
        # A repeated id (possible in user files) is kept but not indexed twice.
        if doc_id not in self._signatures:
            self._insert(doc_id, raw, keys)
            if shingles is not None:
                self._sets.add(doc_id, shingles)
        return None

    def _similarity(self, other_id: str, sig: U32, shingles: bytes | None) -> float:
        other = np.frombuffer(self._signatures[other_id], dtype=np.uint32)
        estimate = float(np.count_nonzero(other == sig)) / sig.size
        if shingles is None or other_id not in self._sets:
            return estimate
        if estimate < self.cfg.threshold - _PRESCREEN_MARGIN:
            return estimate
        return exact_jaccard(shingles, self._sets.get(other_id))

    def _candidates(self, keys: list[bytes]) -> set[str]:
        found: set[str] = set()
        for hit in map(dict.get, self._bands, keys):  # the lookups run in C
            if hit is None:
                continue
            if isinstance(hit, str):
                found.add(hit)
            else:
                found.update(hit)
        return found

    def _insert(self, doc_id: str, raw: bytes, keys: list[bytes]) -> None:
        self._signatures[doc_id] = raw
        hits = list(map(dict.get, self._bands, keys))
        if not any(hits):  # most documents share no band key: set them all in C
            list(map(dict.__setitem__, self._bands, keys, itertools.repeat(doc_id)))
            return
        for band, key, hit in zip(self._bands, keys, hits, strict=True):
            if hit is None:
                band[key] = doc_id
            elif isinstance(hit, str):
                band[key] = [hit, doc_id]
            else:
                hit.append(doc_id)

    def close(self) -> None:
        """Free the index (the cluster counts stay): the semantic step decides after it."""
        self._sets.close()
        self._bands = []
        self._signatures = {}

    def cluster_sizes(self) -> Counter[int]:
        """Cluster size (kept document + its duplicates) -> number of clusters."""
        return Counter(1 + n for n in self.cluster_dups.values())
