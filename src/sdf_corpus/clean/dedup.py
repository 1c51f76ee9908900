"""Exact and near-duplicate removal; the first document seen in input order wins.

Exact: a set of 16-byte digests of the normalised text. Near: MinHash
signatures (computed in batches by `MinHasher`) go into datasketch's
`MinHashLSH` under the document id; candidates sharing a band are verified by
their estimated Jaccard similarity (signature agreement) against the
threshold, because banding alone lets through pairs well below it. The index
keeps band hashes and ids only, never texts; a candidate's full signature is
read back from the index's own key storage.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from datasketch import MinHashLSH

from sdf_corpus.clean.config import DedupConfig
from sdf_corpus.clean.minhash import U32, MinHasher
from sdf_corpus.clean.normalize import digest

__all__ = ["ExactDedup", "NearDedup", "NearMatch"]


class ExactDedup:
    def __init__(self) -> None:
        self._seen: set[bytes] = set()

    def is_duplicate(self, text: str) -> bool:
        """True if an equal normalised text was seen; otherwise remember this one."""
        d = digest(text)
        if d in self._seen:
            return True
        self._seen.add(d)
        return False


NearMatch = tuple[str, float]  # (id of the kept document, estimated Jaccard)


class NearDedup:
    def __init__(self, cfg: DedupConfig) -> None:
        self.cfg = cfg
        self.hasher = MinHasher(cfg.num_perm, cfg.ngram, cfg.seed)
        self.lsh = MinHashLSH(
            threshold=cfg.threshold, num_perm=cfg.num_perm, params=(cfg.bands, cfg.rows)
        )
        # Kept id -> number of documents dropped as its near-duplicates.
        self.cluster_dups: Counter[str] = Counter()

    def process_batch(self, ids: Sequence[str], texts: Sequence[str]) -> list[NearMatch | None]:
        """Per document, in order: None (kept, indexed) or the kept document it duplicates."""
        sigs = self.hasher.signatures(texts)
        return [self._one(doc_id, sig) for doc_id, sig in zip(ids, sigs, strict=False)]

    def _one(self, doc_id: str, sig: U32) -> NearMatch | None:
        lean = self.hasher.lean(sig)
        best: NearMatch | None = None
        for key in self.lsh.query(lean):
            est = float(np.count_nonzero(self._signature(key) == sig)) / sig.size
            if est >= self.cfg.threshold and (
                best is None or est > best[1] or (est == best[1] and str(key) < best[0])
            ):
                best = (str(key), est)
        if best is not None:
            self.cluster_dups[best[0]] += 1
            return best
        # A repeated id (possible in user files) is kept but not indexed twice.
        if doc_id not in self.lsh.keys:
            self.lsh.insert(doc_id, lean, check_duplication=False)
        return None

    def _signature(self, key: str) -> U32:
        # The index stores each band as the big-endian bytes of its hash values.
        bands = self.lsh.keys.get(key)
        return np.frombuffer(b"".join(bands), dtype=">u4").astype(np.uint32)

    def cluster_sizes(self) -> Counter[int]:
        """Cluster size (kept document + its duplicates) -> number of clusters."""
        return Counter(1 + n for n in self.cluster_dups.values())
