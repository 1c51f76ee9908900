"""The clean stage: filters -> exact dedup -> near dedup -> semantic dedup -> shards.

Filters run first (cheap ones first, see `filters.FILTER_ORDER`) so dedup never
spends time on documents that would be dropped anyway, and so a trimmed
preamble cannot hide a duplicate. Documents then pass exact dedup one by one
and near dedup in batches of `dedup.batch_size`; within and across batches the
first document in input order is kept. The per-document work (token count,
filters, digest, MinHash signature) runs in `clean.workers`, in a pool of
`config.workers` processes over chunks; this module consumes the chunks in
input order, so the outputs are the same for any number of workers. The
semantic step (`clean.semantic`) compares each document with its whole genre,
in an order of its own, so it decides only when the input ends: what passes
near dedup is written to its shard at once, and the few documents the step
drops are taken out of the shards afterwards. Its verdicts depend on neither
the input order nor the workers.
Everything is written to a staging folder inside `out_dir` and swapped into
place at the end, so a failed or interrupted run leaves the previous outputs
untouched and a re-run leaves no stale shards.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from itertools import chain
from pathlib import Path
from typing import Any

from tqdm import tqdm

from sdf_corpus.clean.config import CleanConfig
from sdf_corpus.clean.dedup import ExactDedup, NearDedup
from sdf_corpus.clean.semantic import SemanticDedup, SemanticMatch
from sdf_corpus.clean.startup import skip_pandas_probe
from sdf_corpus.clean.stats import CleanStats
from sdf_corpus.clean.tokens import make_counter
from sdf_corpus.clean.workers import Prepared, prepare_chunks, resolve_workers
from sdf_corpus.clean.writers import ShardInfo, ShardWriter
from sdf_corpus.document import Document
from sdf_corpus.runfolder import RejectWriter, publish, staged_folder
from sdf_corpus.runfolder.paths import CLEAN_STATS, MANIFEST, REJECTED_DIR, SHARDS_DIR

__all__ = ["clean"]

_OUTPUT_DIRS = (SHARDS_DIR, REJECTED_DIR)


def clean(
    docs: Iterable[Document],
    out_dir: Path,
    config: CleanConfig,
    *,
    genre_lengths: Mapping[str, tuple[int, int]] | None = None,
    spec_hash: str = "",
    progress: bool = True,
) -> CleanStats:
    """Filter, deduplicate and shard `docs` into `out_dir`; returns the counts."""
    skip_pandas_probe()  # the shard writer's first conversion would import pandas
    run = _Run(config, genre_lengths)
    stream = iter(docs)
    first = next(stream, None)  # input validation errors surface before any output exists
    out_dir = Path(out_dir)
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        with staged_folder(out_dir, "clean") as staging:
            run.open(staging)
            docs_in = stream if first is None else chain([first], stream)
            run.consume(docs_in, progress)
            shards = run.close()
            manifest = _manifest(run, shards, spec_hash)
            files = [(CLEAN_STATS, run.stats.to_json()), (MANIFEST, manifest)]
            publish(out_dir, staging, _OUTPUT_DIRS, files)  # manifest last: complete
    except BaseException:
        run.abort()
        if created and not any(out_dir.iterdir()):
            out_dir.rmdir()  # a failed first run leaves no empty folder behind
        raise
    return run.stats


# tqdm starts a monitor thread with its first bar, even a disabled one; a second
# thread makes `workers` start its pool from a forkserver (fresh interpreters that
# import everything again and cannot share what this process built) instead of
# forking. The bar is updated once per chunk, so the monitor has nothing to do.
_Bar = type("_Bar", (tqdm,), {"monitor_interval": 0})


class _Run:
    """State of one clean pass: filters, dedup indexes, writers, stats."""

    def __init__(self, config: CleanConfig, genre_lengths: Mapping[str, tuple[int, int]] | None):
        self.config = config
        self.genre_lengths = genre_lengths
        self.counter = make_counter(config.tokenizer)  # checks the tokenizer before any output
        decont = config.decontamination
        if decont.files:  # reads the eval files now: a bad one fails before any output, and
            # forked workers inherit the index instead of each building it again
            from sdf_corpus.clean.filters.contamination import load_index

            load_index(decont.files, decont.ngram, decont.text_fields, decont.ignore)
        self.exact = ExactDedup()
        self.near = NearDedup(config.dedup)
        self.semantic: SemanticDedup | None = None
        self.semantic_drops: dict[int, SemanticMatch] = {}
        if config.semantic.enabled:
            from sdf_corpus.embed import load_embedder

            load_embedder()  # a missing model fails before any output; workers inherit it
            self.semantic = SemanticDedup(config.semantic, resolve_workers(config.workers))
        self.stats = CleanStats()
        self.batch: list[Prepared] = []
        self.by_genre: dict[str, Counter[str]] = {}
        self.by_principle: dict[str, Counter[str]] = {}
        self.shards: ShardWriter | None = None
        self.rejected: RejectWriter | None = None

    def open(self, staging: Path) -> None:
        for name in _OUTPUT_DIRS:
            (staging / name).mkdir()
        self.shards = ShardWriter(staging / SHARDS_DIR, self.config.shard)
        self.rejected = RejectWriter(staging / REJECTED_DIR)

    def consume(self, docs: Iterable[Document], progress: bool) -> None:
        # delay: a bad record early in the input ends in its one-line error, not under a bar
        bar = _Bar(unit="docs", desc="clean", disable=not progress, delay=1.0)
        try:
            self._consume(docs, bar)
        except BaseException:
            bar.leave = False  # clear the bar so the error stands alone
            bar.close()
            raise

    def _consume(self, docs: Iterable[Document], bar: tqdm[Any]) -> None:
        workers = resolve_workers(self.config.workers)
        chunks = prepare_chunks(self._timed(docs, "read"), self.config, self.genre_lengths, workers)
        for prepared, chunk_stats in chunks:
            self._merge(chunk_stats)
            for item in prepared:
                self.process(item)
            bar.update(len(prepared))
            bar.set_postfix(tokens=self.stats.input_tokens, kept=self.stats.kept_docs)
        self._flush_batch()  # near dedup decides in batches: the last one settles `kept`
        self.near.close()  # its index is done with: the semantic step's memory replaces it
        self._decide_held()
        bar.set_postfix(tokens=self.stats.input_tokens, kept=self.stats.kept_docs)
        bar.close()

    def _merge(self, chunk: CleanStats) -> None:
        for key, value in chunk.timings.items():
            self.stats.timings[key] += value
        self.stats.langdetect_calls += chunk.langdetect_calls
        self.stats.lang_prescreened += chunk.lang_prescreened

    def _timed(self, docs: Iterable[Document], stage: str) -> Iterator[Document]:
        it = iter(docs)
        while True:
            t = time.perf_counter()
            doc = next(it, None)
            self.stats.timings[stage] += time.perf_counter() - t
            if doc is None:
                return
            yield doc

    def process(self, item: Prepared) -> None:
        doc = item.doc
        self.stats.input_docs += 1
        self.stats.input_tokens += item.input_tokens
        if item.drop is not None:
            _, reason, detail = item.drop
            self._reject(doc, "filter", reason, detail)
            return
        for trim in doc.quality.get("trimmed", []):
            self.stats.trimmed[trim["filter"]] += 1
        t = time.perf_counter()
        duplicate = self.config.dedup.exact and self.exact.is_duplicate_digest(item.digest)
        self.stats.timings["exact_dedup"] += time.perf_counter() - t
        if duplicate:
            self._reject(doc, "exact_dedup", "exact_duplicate")
            return
        self.batch.append(item)
        if len(self.batch) >= self.config.dedup.batch_size:
            self._flush_batch()

    def _flush_batch(self) -> None:
        batch, self.batch = self.batch, []
        if not batch:
            return
        matches: list[tuple[str, float] | None] = [None] * len(batch)
        if self.config.dedup.near:
            t = time.perf_counter()
            ids = [p.doc.id for p in batch]
            sigs = [p.signature for p in batch]
            matches = self.near.process_signatures(ids, sigs, [p.shingles for p in batch])
            self.stats.timings["near_dedup"] += time.perf_counter() - t
        t = time.perf_counter()
        passed: list[Prepared] = []
        for item, match in zip(batch, matches, strict=False):
            if match is not None:
                detail = {"jaccard": round(match[1], 4)}
                self._reject(item.doc, "near_dedup", "near_duplicate", detail, match[0])
            else:
                passed.append(item)
        if self.semantic is not None:  # held and written in one order: taken out if dropped
            vectors = [p.vector for p in passed if p.vector is not None]
            assert len(vectors) == len(passed), "the semantic step needs every vector"
            docs = [p.doc for p in passed]
            words = [p.words for p in passed]
            self.semantic.hold_many(docs, vectors, words, [p.digest for p in passed])
        for item in passed:
            self._keep(item.doc)
        self.stats.timings["write"] += time.perf_counter() - t

    def _decide_held(self) -> None:
        """The semantic step's verdicts: which written documents it drops."""
        if self.semantic is None:
            return
        t = time.perf_counter()
        self.semantic_drops = self.semantic.decide()
        self.stats.timings["semantic_dedup"] += time.perf_counter() - t

    def _remove_dropped(self) -> None:
        """The semantic step's drops out of the closed shards, the counts and into
        rejected/ (in the order they were held, which is input order)."""
        if self.semantic is None or not self.semantic_drops:
            return
        assert self.shards is not None
        t = time.perf_counter()
        held = sorted(self.semantic_drops)  # held positions are shard row positions
        rows = self.shards.remove(held)
        for i, row in zip(held, rows, strict=True):
            doc = self.semantic.document(i, row)
            assert doc.id == self.semantic.held_id(i), "shard rows out of step with held ones"
            self._tally(doc, -1)
            kept_id, detail = self.semantic_drops[i]
            self._reject(doc, "semantic_dedup", "semantic_duplicate", detail, kept_id)
        self.stats.timings["semantic_dedup"] += time.perf_counter() - t

    def _keep(self, doc: Document) -> None:
        assert self.shards is not None
        self.shards.write(doc)
        self._tally(doc, 1)

    def _tally(self, doc: Document, sign: int) -> None:
        """Count a kept document in (`sign` 1) or, taken out of the shards again, out
        (-1) of the totals and of its genre's and principle's; an entry left with no
        document goes, as if it had never been kept."""
        self.stats.kept_docs += sign
        self.stats.kept_tokens += sign * doc.n_tokens
        for table, key in ((self.by_genre, doc.genre), (self.by_principle, doc.principle_id)):
            if not key:  # user text without a genre/principle: counted in totals only
                continue
            counts = table.setdefault(key, Counter())
            counts["docs"] += sign
            counts["tokens"] += sign * doc.n_tokens
            if not counts["docs"]:
                del table[key]

    def _reject(
        self,
        doc: Document,
        stage: str,
        reason: str,
        detail: Any = None,
        duplicate_of: str | None = None,
    ) -> None:
        assert self.rejected is not None
        self.stats.drop(stage, reason, doc.n_tokens)
        self.rejected.write(doc, stage, reason, detail, duplicate_of)

    def close(self) -> list[ShardInfo]:
        assert self.shards is not None and self.rejected is not None
        t = time.perf_counter()
        self.shards.close()
        self.stats.timings["write"] += time.perf_counter() - t
        self._remove_dropped()
        t = time.perf_counter()
        shards = self.shards.shards
        self.rejected.close()
        self.stats.timings["write"] += time.perf_counter() - t
        self.stats.cluster_sizes = self.near.cluster_sizes()
        self.near.close()
        if self.semantic is not None:
            self.semantic.close()
        return shards

    def abort(self) -> None:
        """Release open files after an error (no-op after a clean close)."""
        if self.rejected is not None:
            self.rejected.abort()
        if self.semantic is not None:
            self.semantic.close()


def _manifest(run: _Run, shards: list[ShardInfo], spec_hash: str) -> dict[str, Any]:
    def table(t: dict[str, Counter[str]]) -> dict[str, dict[str, int]]:
        return {k: {"docs": v["docs"], "tokens": v["tokens"]} for k, v in sorted(t.items())}

    return {
        "version": 1,
        "spec_hash": spec_hash,
        "tokenizer": run.counter.name,
        "totals": {
            "documents": sum(s.rows for s in shards),
            "tokens": sum(s.tokens for s in shards),
            "bytes": sum(s.bytes for s in shards),
        },
        "shards": [s.to_json() for s in shards],
        "by_genre": table(run.by_genre),
        "by_principle": table(run.by_principle),
        "dedup": run.config.dedup.model_dump(),
        "semantic": run.config.semantic.model_dump(),
    }
