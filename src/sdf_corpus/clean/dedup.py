"""Exact and near-duplicate removal; the first document seen in input order wins.

Exact: a set of 16-byte digests of the normalised text. Near: MinHash
signatures (computed in batches by `MinHasher`) are banded as datasketch's
`MinHashLSH` does with `params=(bands, rows)` (a candidate shares all `rows`
values of at least one band), in a plain dict per band; candidates are
verified by their estimated Jaccard similarity (signature agreement) against
the threshold, because banding alone lets through pairs well below it. The
index keeps band keys, ids and one signature per kept document, never texts.
The candidates, and so the results, are exactly those of `MinHashLSH`; the
dicts cost about a third of its per-document time and skip importing datasketch
(and with it scipy) in the clean stage.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from sdf_corpus.clean.config import DedupConfig
from sdf_corpus.clean.minhash import U32, MinHasher
from sdf_corpus.clean.normalize import digest

__all__ = ["ExactDedup", "NearDedup", "NearMatch"]


class ExactDedup:
    def __init__(self) -> None:
        self._seen: set[bytes] = set()

    def is_duplicate(self, text: str) -> bool:
        """True if an equal normalised text was seen; otherwise remember this one."""
        return self.is_duplicate_digest(digest(text))

    def is_duplicate_digest(self, d: bytes) -> bool:
        """`is_duplicate` for a text whose `normalize.digest` is already computed."""
        if d in self._seen:
            return True
        self._seen.add(d)
        return False


NearMatch = tuple[str, float]  # (id of the kept document, estimated Jaccard)


class NearDedup:
    def __init__(self, cfg: DedupConfig) -> None:
        self.cfg = cfg
        self.hasher = MinHasher(cfg.num_perm, cfg.ngram, cfg.seed)
        # Per band: the band's values (as bytes) -> ids of kept documents with them.
        # One id is stored bare, several as a list: most band keys are unique.
        self._bands: list[dict[bytes, str | list[str]]] = [{} for _ in range(cfg.bands)]
        self._signatures: dict[str, bytes] = {}
        # Kept id -> number of documents dropped as its near-duplicates.
        self.cluster_dups: Counter[str] = Counter()

    def process_batch(self, ids: Sequence[str], texts: Sequence[str]) -> list[NearMatch | None]:
        """Per document, in order: None (kept, indexed) or the kept document it duplicates."""
        return self.process_signatures(ids, self.hasher.signatures(texts))

    def process_signatures(
        self, ids: Sequence[str], sigs: Sequence[U32 | None] | U32
    ) -> list[NearMatch | None]:
        """`process_batch` with the signatures already computed (by `MinHasher`)."""
        return [self._one(doc_id, sig) for doc_id, sig in zip(ids, sigs, strict=True)]

    def _one(self, doc_id: str, sig: U32 | None) -> NearMatch | None:
        assert sig is not None, "near dedup needs every kept document's signature"
        raw = np.ascontiguousarray(sig, dtype=np.uint32).tobytes()
        width = 4 * self.cfg.rows
        keys = [raw[i * width : (i + 1) * width] for i in range(self.cfg.bands)]
        best: NearMatch | None = None
        for key in self._candidates(keys):
            other = np.frombuffer(self._signatures[key], dtype=np.uint32)
            est = float(np.count_nonzero(other == sig)) / sig.size
            if est >= self.cfg.threshold and (
                best is None or est > best[1] or (est == best[1] and key < best[0])
            ):
                best = (key, est)
        if best is not None:
            self.cluster_dups[best[0]] += 1
            return best
        # A repeated id (possible in user files) is kept but not indexed twice.
        if doc_id not in self._signatures:
            self._insert(doc_id, raw, keys)
        return None

    def _candidates(self, keys: list[bytes]) -> set[str]:
        found: set[str] = set()
        for band, key in zip(self._bands, keys, strict=True):
            hit = band.get(key)
            if hit is None:
                continue
            if isinstance(hit, str):
                found.add(hit)
            else:
                found.update(hit)
        return found

    def _insert(self, doc_id: str, raw: bytes, keys: list[bytes]) -> None:
        self._signatures[doc_id] = raw
        for band, key in zip(self._bands, keys, strict=True):
            hit = band.get(key)
            if hit is None:
                band[key] = doc_id
            elif isinstance(hit, str):
                band[key] = [hit, doc_id]
            else:
                hit.append(doc_id)

    def cluster_sizes(self) -> Counter[int]:
        """Cluster size (kept document + its duplicates) -> number of clusters."""
        return Counter(1 + n for n in self.cluster_dups.values())
