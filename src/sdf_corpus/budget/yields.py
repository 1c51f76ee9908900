"""What a finished job will keep: the streaming estimate the budget loop steers by.

A finished job becomes its Document and goes through the clean stage's own
per-document work (token count and every quality filter, `clean.workers.Preparer`)
without the dedup indexes: kept tokens if the filters keep it, 0 if they drop
it. Dedup is not estimated document by document; the build's clean after the
loop measures it, and the next loop starts from those measured figures.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sdf_corpus.budget.settings import clean_config, genre_lengths
from sdf_corpus.clean.workers import Preparer
from sdf_corpus.generate.assemble import to_document
from sdf_corpus.plan.job import Job
from sdf_corpus.plan.shard import Shard
from sdf_corpus.spec.load import Corpus
from sdf_corpus.store import StageOutput, Store

__all__ = [
    "MEASURED_KEY",
    "KeepEstimator",
    "Meter",
    "ever_measured",
    "measured_meters",
    "record_measured",
]

# Ledger meta: per genre the finished jobs and the tokens the clean stage kept of them
# (shards and reserve), with the outputs fingerprint they were measured at.
MEASURED_KEY = "budget_measured"
_CHUNK = 256


@dataclass
class Meter:
    """One genre's finished jobs and the tokens they keep (estimated or measured)."""

    done: int = 0
    kept: int = 0


class KeepEstimator:
    """Kept tokens of finished jobs by the clean stage's filters (no dedup)."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        cfg = clean_config(corpus)
        cfg = cfg.model_copy(update={"dedup": cfg.dedup.model_copy(update={"near": False})})
        decont = cfg.decontamination
        if decont.files:  # the contamination filter reads the index the clean stage loads
            from sdf_corpus.clean.filters.contamination import load_index

            load_index(decont.files, decont.ngram, decont.text_fields, decont.ignore)
        self.preparer = Preparer(cfg, genre_lengths(corpus))

    def kept_tokens(self, finished: Iterable[tuple[Job, Mapping[str, StageOutput]]]) -> list[int]:
        docs = [to_document(self.corpus, job, dict(outputs)) for job, outputs in finished]
        if not docs:
            return []
        prepared, _ = self.preparer.prepare(docs)
        return [0 if p.drop is not None else int(p.doc.n_tokens) for p in prepared]


def record_measured(store: Store, kept: Mapping[str, int]) -> None:
    """After a clean: what the finished jobs of each genre really kept (shards and
    reserve), so the next loop starts from measured figures, not estimates."""
    done = store.done_by_genre()
    genres = {g: [done.get(g, 0), int(kept.get(g, 0))] for g in sorted(set(done) | set(kept))}
    fingerprint = list(store.outputs_fingerprint())
    store.set_meta(MEASURED_KEY, json.dumps({"fingerprint": fingerprint, "genres": genres}))


def ever_measured(store: Store) -> bool:
    """Whether a clean of this run has measured what its finished jobs keep (dedup and
    the judge included), which the streaming estimate cannot see."""
    return store.get_meta(MEASURED_KEY) is not None


def measured_meters(
    corpus: Corpus, store: Store, estimator: KeepEstimator, shard: Shard | None
) -> dict[str, Meter]:
    """Each genre's meter at the start of a loop: the last clean's figures when no job
    finished since (scaled to a --workers slice), else every finished job estimated
    (a resume after a kill, or a run never cleaned)."""
    meters = {g: Meter() for g in corpus.genres}
    recorded = json.loads(store.get_meta(MEASURED_KEY) or "null")
    if recorded and recorded["fingerprint"] == list(store.outputs_fingerprint()):
        share = 1.0 / shard.count if shard is not None else 1.0
        for g, (done, kept) in recorded["genres"].items():
            if g in meters:
                meters[g] = Meter(round(done * share), round(kept * share))
        return meters
    ids = [(i, g) for i, g in store.done_ids() if g in meters]
    if shard is not None:
        ids = [(i, g) for i, g in ids if shard.owns(i)]
    for start in range(0, len(ids), _CHUNK):
        chunk = [(store.job(i), store.outputs(i)) for i, _ in ids[start : start + _CHUNK]]
        for (job, _), kept in zip(chunk, estimator.kept_tokens(chunk), strict=True):
            meters[job.genre].done += 1
            meters[job.genre].kept += kept
    return meters
