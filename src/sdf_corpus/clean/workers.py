"""The per-document work of the clean stage, runnable in a pool of processes.

Everything that depends on one document alone (token count, filters, the
exact-dedup digest, the MinHash signature) is done here on chunks of
documents; everything that depends on the documents before it (the exact
digest set, the LSH index, the writers) stays in the main process, which
consumes the chunks strictly in input order. So the outputs do not depend on
the number of workers.

With `workers > 1` the chunks go to a `multiprocessing` pool with a bounded
number of chunks in flight: memory stays at a few chunks, however long the
input. Workers are forked (milliseconds) when this process has a single
thread; otherwise they come from a forkserver: `build` runs this stage after
HTTP clients and llama.cpp have started threads, and a fork can inherit a lock
one of them holds and deadlock; the forkserver is a fresh single-threaded
process (about half a second to start).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import chain
from multiprocessing.pool import AsyncResult, Pool
from typing import Any

import numpy as np
import numpy.typing as npt

from sdf_corpus.clean.config import CleanConfig
from sdf_corpus.clean.eval_index import EvalIndex
from sdf_corpus.clean.filters import Filter, build_filters
from sdf_corpus.clean.filters.contamination import adopt_index, load_index
from sdf_corpus.clean.filters.language import LanguageFilter
from sdf_corpus.clean.minhash import U32, MinHasher
from sdf_corpus.clean.normalize import NormalisedBatch
from sdf_corpus.clean.semantic_words import F32, content_features
from sdf_corpus.clean.stats import CleanStats
from sdf_corpus.clean.tokens import TokenCounter, make_counter
from sdf_corpus.document import Document
from sdf_corpus.embed import Embedder, load_embedder

__all__ = ["CHUNK_DOCS", "Prepared", "Preparer", "prepare_chunks", "resolve_workers"]

CHUNK_DOCS = 256
F16 = npt.NDArray[np.float16]
# A chunk also ends at this many characters: the chunk-wide filters hold a few
# integer arrays per word of the chunk, and long documents would otherwise make
# a 256-document chunk (and its pickles) hundreds of megabytes.
CHUNK_CHARS = 1 << 22


@dataclass(slots=True)
class Prepared:
    """One document after its own work: the filter verdict, or what dedup needs."""

    doc: Document
    input_tokens: int  # counted before any filter trims the text
    drop: tuple[str, str, Any] | None = None  # (filter name, reason, detail)
    digest: bytes = b""
    signature: U32 | None = None
    shingles: bytes | None = None  # shingle hashes, for exact verification of candidates
    # The semantic step's unit vector (clean/semantic_words.py): float32 when computed in
    # this process, float16 from a worker; the step holds float16 either way.
    vector: F32 | F16 | None = None
    words: bytes = b""  # ... and its word hashes


class Preparer:
    """Counts, filters, digests and signs documents; one per process."""

    def __init__(
        self, config: CleanConfig, genre_lengths: Mapping[str, tuple[int, int]] | None
    ) -> None:
        self.config = config
        self.counter: TokenCounter = make_counter(config.tokenizer)
        self.filters: list[Filter] = build_filters(config, self.counter, genre_lengths)
        d = config.dedup
        self.hasher = MinHasher(d.num_perm, d.ngram, d.seed) if d.near else None
        self.embedder: Embedder | None = load_embedder() if config.semantic.enabled else None

    def prepare(self, docs: list[Document]) -> tuple[list[Prepared], CleanStats]:
        """The chunk's documents in order, and the chunk's timings and language counts."""
        stats = CleanStats()
        self._reset_language_counts()
        out = [Prepared(doc, self._count(doc)) for doc in docs]
        self._filter(out, stats)
        t = time.perf_counter()
        kept = [p for p in out if p.drop is None]
        batch = NormalisedBatch.of([p.doc.text for p in kept])
        for p, digest in zip(kept, batch.digests(), strict=True):
            p.digest = digest
        stats.timings["exact_dedup"] += time.perf_counter() - t
        if self.hasher is not None and kept:
            t = time.perf_counter()
            sigs, sets = self.hasher.sign(batch)
            for p, sig, shingle_set in zip(kept, sigs, sets, strict=True):
                p.signature = np.ascontiguousarray(sig)
                p.shingles = shingle_set
            stats.timings["near_dedup"] += time.perf_counter() - t
        if self.embedder is not None and kept:
            t = time.perf_counter()
            vectors, sets = content_features([p.doc.text for p in kept], self.embedder)
            for p, vector, words in zip(kept, vectors, sets, strict=True):
                p.vector, p.words = vector, words
            stats.timings["semantic_dedup"] += time.perf_counter() - t
        for f in self.filters:
            if isinstance(f, LanguageFilter):
                stats.langdetect_calls += f.langdetect_calls
                stats.lang_prescreened += f.prescreened
        return out, stats

    def _count(self, doc: Document) -> int:
        doc.n_tokens = n = self.counter.count(doc.text)
        return n

    def _filter(self, chunk: list[Prepared], stats: CleanStats) -> None:
        """Each filter over every document the ones before it kept, a chunk at a time
        (the verdicts are the same as document by document: filters do not look at
        other documents, and each sees exactly the documents that reached it)."""
        alive = chunk
        for f in self.filters:
            if not alive:
                return
            t = time.perf_counter()
            verdicts = f.check_many([p.doc for p in alive])
            stats.timings[f"filter.{f.name}"] += time.perf_counter() - t
            survivors = []
            for p, (keep, reason) in zip(alive, verdicts, strict=True):
                if keep:
                    survivors.append(p)
                else:
                    p.drop = (f.name, reason or f.name, p.doc.quality.get(f.name))
            alive = survivors

    def _reset_language_counts(self) -> None:
        for f in self.filters:
            if isinstance(f, LanguageFilter):
                f.langdetect_calls = f.prescreened = 0


def _context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])
        return ctx
    return multiprocessing.get_context()


def resolve_workers(workers: int) -> int:
    """0 means one process per available core."""
    if workers > 0:
        return workers
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return max(os.cpu_count() or 1, 1)


_PREPARER: Preparer | None = None
_INIT_ERROR: Exception | None = None


def _init_worker(
    config: CleanConfig,
    genre_lengths: Mapping[str, tuple[int, int]] | None,
    index: EvalIndex | None = None,
) -> None:
    global _PREPARER, _INIT_ERROR
    try:
        if index is not None:  # built by the parent: a forkserver worker need not read files
            d = config.decontamination
            adopt_index(index, d.files, d.ngram, d.text_fields, d.ignore)
        _PREPARER = Preparer(config, genre_lengths)
    except Exception as exc:
        # Raised from the first task instead: a Pool whose initializer fails starts
        # replacement workers forever, so the stage would hang, not stop.
        _INIT_ERROR = exc


# What a worker sends back per document: input tokens, n_tokens, the text if a
# filter rewrote it (else None), quality, drop, digest, shingles, semantic words.
_Row = tuple[
    int, int, str | None, dict[str, Any], tuple[str, str, Any] | None, bytes, bytes | None, bytes
]
_Slim = tuple[list[_Row], U32 | None, F16 | None, CleanStats]


def _prepare_in_worker(docs: list[Document]) -> _Slim:
    """`Preparer.prepare`, answered with only what the filters can change (text,
    quality, n_tokens) and one signature matrix: the parent still holds the
    documents it sent, so sending them back whole would pickle every text twice
    more, and per-row signature arrays pickle slowly."""
    if _INIT_ERROR is not None:
        raise _INIT_ERROR
    assert _PREPARER is not None
    texts = [doc.text for doc in docs]
    out, stats = _PREPARER.prepare(docs)
    rows: list[_Row] = [
        (
            p.input_tokens,
            p.doc.n_tokens,
            None if p.doc.text is text else p.doc.text,
            p.doc.quality,
            p.drop,
            p.digest,
            p.shingles,
            p.words,
        )
        for p, text in zip(out, texts, strict=True)
    ]
    signed = [p.signature for p in out if p.signature is not None]
    embedded = [p.vector for p in out if p.vector is not None]
    return (
        rows,
        np.stack(signed) if signed else None,
        # float16: what the semantic step holds them as (`SemanticDedup`), so half the
        # bytes to pickle and the same values there (float32 -> 16 -> 32 -> 16 is exact)
        np.stack(embedded).astype(np.float16) if embedded else None,
        stats,
    )


def _unslim(docs: list[Document], slim: _Slim) -> tuple[list[Prepared], CleanStats]:
    """The parent's side of `_prepare_in_worker`: its own documents, updated."""
    rows, sigs, vectors, stats = slim
    out: list[Prepared] = []
    signed = iter(sigs if sigs is not None else ())
    embedded = iter(vectors if vectors is not None else ())
    for doc, (input_tokens, n_tokens, text, quality, drop, digest, shingles, words) in zip(
        docs, rows, strict=True
    ):
        doc.n_tokens, doc.quality = n_tokens, quality
        if text is not None:
            doc.text = text
        sig = next(signed) if drop is None and sigs is not None else None
        vector = next(embedded) if drop is None and vectors is not None else None
        out.append(Prepared(doc, input_tokens, drop, digest, sig, shingles, vector, words))
    return out, stats


def _chunks(
    docs: Iterable[Document], size: int, max_chars: int = CHUNK_CHARS
) -> Iterator[list[Document]]:
    chunk: list[Document] = []
    chars = 0
    for doc in docs:
        chunk.append(doc)
        chars += len(doc.text)
        if len(chunk) >= size or chars >= max_chars:
            yield chunk
            chunk, chars = [], 0
    if chunk:
        yield chunk


def prepare_chunks(
    docs: Iterable[Document],
    config: CleanConfig,
    genre_lengths: Mapping[str, tuple[int, int]] | None,
    workers: int,
    chunk_docs: int = CHUNK_DOCS,
) -> Iterator[tuple[list[Prepared], CleanStats]]:
    """Prepared chunks in input order, computed in-process or by `workers` processes.

    A pool is started only when the input fills more than one chunk, so small
    inputs (and tests) pay no process start-up.
    """
    chunks = _chunks(docs, chunk_docs)
    first = next(chunks, None)
    if first is None:
        return
    second = next(chunks, None)
    if workers <= 1 or second is None:
        local = Preparer(config, genre_lengths)
        yield local.prepare(first)
        if second is not None:
            yield local.prepare(second)
        for chunk in chunks:
            yield local.prepare(chunk)
        return
    yield from _pooled([first, second], chunks, config, genre_lengths, workers)


def _pooled(
    head: list[list[Document]],
    rest: Iterator[list[Document]],
    config: CleanConfig,
    genre_lengths: Mapping[str, tuple[int, int]] | None,
    workers: int,
) -> Iterator[tuple[list[Prepared], CleanStats]]:
    ctx = _context()
    d = config.decontamination
    # The parent has built the index already (clean checks the files first); a
    # forked worker inherits it anyway, a forkserver worker receives it pickled.
    index = load_index(d.files, d.ngram, d.text_fields, d.ignore) if d.files else None
    pool: Pool = ctx.Pool(
        workers, initializer=_init_worker, initargs=(config, genre_lengths, index)
    )
    # Enough chunks in flight to keep every worker busy while the main process
    # consumes one; bounded, unlike Pool.imap, which reads its input eagerly.
    window = 2 * workers + 1
    pending: deque[tuple[list[Document], AsyncResult[_Slim]]] = deque()
    try:
        for chunk in chain(head, rest):
            pending.append((chunk, pool.apply_async(_prepare_in_worker, (chunk,))))
            if len(pending) >= window:
                docs, result = pending.popleft()
                yield _unslim(docs, result.get())
        while pending:
            docs, result = pending.popleft()
            yield _unslim(docs, result.get())
        pool.close()
    finally:
        pool.terminate()
        pool.join()
