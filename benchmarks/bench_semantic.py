"""The semantic step: embedding throughput and its calibration on real prose.

Throughput: the step's own text vectors (`clean.semantic_words.content_features`: words
found once per chunk, one model row per distinct word) against the model's own
`Embedder.embed()` (wordllama tokenises every text), on the same documents in one
process, tokens per second (approx-words-v1 tokens).

Calibration: the original stories of tests/data/semantic_calibration/ through `clean`
with the default settings: the short set (20 stories told three times each in other
words and names, 12 near misses in the same setting; 80-150 words), the long set (5
stories told three times, 5 different stories in the same setting with the same AI
name; 315-390 words), both in one genre, and this repository's own prose in 30 pieces
of 500 words (different texts on one subject: every merge there is false). Then, by
pairs, how many pairs of one story pass all three tests and how many pairs of different
stories are kept apart; beside it, what one threshold on `Embedder.embed()` cosines does
(the peers' way: distilabel's EmbeddingDedup and PersonaHub use 0.9). `--sweep` runs the
settings around the defaults on every set: how they were chosen (docs/clean.md).

    .venv/bin/python benchmarks/bench_semantic.py [--sweep]

`--features N [JSONL...]`: only the clean workers' part of the step, `content_features`,
against the implementation it replaced (`_semantic_words_v1.py`, its own tokenisation) in
the same run, CPU seconds and words per second over N documents: bench_scale's corpus
(the given shards, e.g. /tmp/scale350/raw-0000*.jsonl, else generated with its seed), in
chunks as the workers cut them, each chunk first through the filters as in `clean` (not
timed; they number the words the new path reuses). Also without the filters' chunk (as
when the word filters are switched off), and on real prose windows with a larger
vocabulary per chunk (Python's own documentation and this repository's prose).

    .venv/bin/python benchmarks/bench_semantic.py --features 20480 /tmp/scale350/raw-00000.jsonl
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine
from _corpus import jsonl_corpus
from _semantic_words_v1 import content_features as content_features_v1

from sdf_corpus.clean.config import CleanConfig, SemanticConfig
from sdf_corpus.clean.filters.chunk import word_chunk
from sdf_corpus.clean.neighbours import nearest
from sdf_corpus.clean.pipeline import clean
from sdf_corpus.clean.semantic import background_rank
from sdf_corpus.clean.semantic_common import GenreWordCounts, content_overlap
from sdf_corpus.clean.semantic_words import content_features
from sdf_corpus.clean.tokens import ApproxCounter
from sdf_corpus.clean.workers import CHUNK_DOCS, Preparer
from sdf_corpus.document import Document
from sdf_corpus.embed import Embedder, load_embedder
from semantic_calibration import LONG, SHORT, calibration_documents, repo_prose_pieces, score


def throughput(n_docs: int) -> None:
    texts = [
        json.loads(line)["text"]
        for line in itertools.islice(jsonl_corpus(None, words=None), n_docs)
    ]
    tokens = sum(map(ApproxCounter().count, texts))
    embedder = load_embedder()
    content_features(texts[:64], embedder)  # warm: token ids of the common words
    rates = {}
    word_chunk(texts)  # numbered as clean's filters number them before the step
    for name, fn in (
        ("content_features (clean's path)", lambda: content_features(texts, embedder)),
        ("Embedder.embed (wordllama)", lambda: embedder.embed(texts)),
        # wordllama pads each batch to its longest text: sorted, a batch holds alike lengths
        ("Embedder.embed, sorted by length", lambda: embedder.embed(sorted(texts, key=len))),
    ):
        t = time.process_time()
        fn()
        rates[name] = tokens / (time.process_time() - t)
        print(f"  {name:<34} {rates[name]:>12,.0f} tokens/s CPU ({n_docs} docs, {tokens:,} tokens)")
    ours, theirs, best = rates.values()
    print(f"  ratio: {ours / theirs:.1f}x ({ours / best:.1f}x against the sorted batches)")
    _common_words_cost(content_features(texts, embedder)[1], tokens, ours)


def features(n_docs: int, paths: list[Path]) -> None:
    """content_features against its first implementation, same documents, same run."""
    if paths:
        lines = itertools.islice(itertools.chain.from_iterable(p.open() for p in paths), n_docs)
    else:  # bench_scale's corpus: its generator and seed
        lines = itertools.islice(jsonl_corpus(None, seed=11, words=None), n_docs)
    docs = [Document(id=str(i), text=json.loads(line)["text"]) for i, line in enumerate(lines)]
    chunks = [docs[i : i + CHUNK_DOCS] for i in range(0, len(docs), CHUNK_DOCS)]
    preparer = Preparer(CleanConfig.model_validate({"semantic": {"enabled": False}}), None)
    kept = []
    for chunk in chunks:  # the filters, as a clean worker runs them before the step
        out, _ = preparer.prepare(chunk)
        kept.append([p.doc.text for p in out if p.drop is None])
    print(f"  bench_scale corpus: {len(docs):,} documents, {sum(map(len, kept)):,} kept")
    _compare(kept)
    print("  real prose windows (Python's documentation and this repository's docs):")
    _compare(_prose_windows(len(docs) // 4))


def _compare(chunks: list[list[str]]) -> None:
    """CPU seconds of each implementation over the chunks, each with its own embedder
    (the word-to-token-ids cache is per embedder) and its cache warm, interleaved chunk
    by chunk so that the load of a shared machine falls on both alike."""
    model = load_embedder()._model
    words = sum(len(t.split()) for chunk in chunks for t in chunk)
    new = lambda texts: content_features(texts, mine)  # noqa: E731
    mine, theirs, cold_emb = Embedder(model), Embedder(model), Embedder(model)
    paths: dict[str, Callable[[Sequence[str]], object]] = {
        "before (own tokenisation)": lambda texts: content_features_v1(texts, theirs),
        "now, after the filters": new,
        "now, without the filters' chunk": lambda texts: content_features(texts, cold_emb),
    }
    cpu = dict.fromkeys(paths, 0.0)
    for timed in (False, True):  # first a pass that fills the embedders' caches, as a
        for chunk in chunks:  # long-running worker's are
            for name, fn in paths.items():
                word_chunk(["(another chunk)"] if "without" in name else chunk)
                t = time.process_time()
                fn(chunk)
                cpu[name] += (time.process_time() - t) * timed
    before = cpu["before (own tokenisation)"]
    for name, seconds in cpu.items():
        print(
            f"    {name:<33} {seconds:6.2f} CPU s  {words / seconds / 1e6:5.1f}M words/s  "
            f"{before / seconds:4.2f}x"
        )


def _prose_windows(n: int) -> list[list[str]]:
    """n windows of 300-1,000 words from real English prose, in chunks: each chunk holds
    most of the sources' 11k distinct words, as a chunk of a real corpus would."""
    import pydoc_data.topics

    source = " ".join(
        [*pydoc_data.topics.topics.values(), *(d.text for d in repo_prose_pieces())]
    ).split(" ")
    rng = random.Random(1)
    texts = []
    for _ in range(n):
        length = rng.randint(300, 1000)
        start = rng.randrange(len(source) - length)
        texts.append(" ".join(source[start : start + length]))
    return [texts[i : i + CHUNK_DOCS] for i in range(0, n, CHUNK_DOCS)]


def _common_words_cost(sets: list[bytes], tokens: int, vectors_rate: float) -> None:
    """What counting each genre's common words adds: `SemanticDedup.hold` counts every
    held document's word set once (in the main process), and the verdict asks for one
    genre's common words once. Repeated over the sets to time more than a blink."""
    repeats = 20
    t = time.process_time()
    for _ in range(repeats):
        counts = GenreWordCounts()
        for words in sets:
            counts.add(0, words)
        counts.common(0, len(sets), SemanticConfig().common_share, 5)
    rate = repeats * tokens / (time.process_time() - t)
    print(
        f"  {'common-word counts (per genre)':<34} {rate:>12,.0f} tokens/s CPU "
        f"({rate / vectors_rate:.0f}x the vectors' rate: +{vectors_rate / rate:.1%} on them)"
    )


def _clean(docs: list[Document], semantic: dict[str, float]) -> tuple[set[str], list[dict]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        config = CleanConfig.model_validate({"workers": 1, "semantic": semantic})
        clean(iter(docs), out, config, progress=False)
        kept = set(pq.read_table(out / "shards", columns=["id"]).column("id").to_pylist())
        rejected = [json.loads(line) for line in (out / "rejected" / "rejected.jsonl").open()]
    return kept, rejected


def _measure(semantic: dict[str, float]) -> dict[str, str]:
    """Rewordings merged and false merges on each calibration set, and false merges
    among the repository's own prose (30 pieces of 500 words, no retellings)."""
    out = {}
    for name, files in (("short", (SHORT,)), ("long", (LONG,)), ("both", (SHORT, LONG))):
        docs, story = calibration_documents(*files)
        kept, rejected = _clean(docs, semantic)
        s = score(story, kept, rejected)
        out[name] = f"{s.merged}/{s.rewordings} merged, {s.false_merges} false"
    _, rejected = _clean(repo_prose_pieces()[:30], semantic)
    merged = sum(r["reason"] == "semantic_duplicate" for r in rejected)
    out["prose"] = f"{merged}/30 false"
    return out


def calibration() -> None:
    cfg = SemanticConfig()
    print(
        f"  defaults: cosine >= {cfg.threshold}, margin {cfg.margin} over the "
        f"{cfg.background_rank}th neighbour (the median one in a genre of fewer than "
        f"{2 * cfg.background_rank + 1}), overlap >= {cfg.min_word_overlap} of the words "
        f"used by at most {cfg.common_share:.0%} of the genre (or fewer than "
        f"{cfg.common_min_docs} documents)"
    )
    for name, figure in _measure({}).items():
        print(f"  clean, defaults, {_SETS[name]}: {figure}")
    docs, story = calibration_documents()
    same, apart = _pairs(docs, story, cfg)
    print(f"  pairs of one story passing all three tests (short + long): {same[0]} of {same[1]}")
    print(f"  pairs of different stories kept apart (short + long): {apart[0]} of {apart[1]}")
    _single_threshold(docs, story)
    separation()


def separation() -> None:
    """Which word overlap separates best, among the pairs the cosine and margin tests let
    through: the plain Jaccard, the Jaccard without the genre's common words (the step's),
    and a Jaccard weighted by log(N/df) instead."""
    cfg = SemanticConfig()
    docs, story = calibration_documents()
    prose = repo_prose_pieces()[:30]
    rows = {name: ([], []) for name in ("plain", "common words out", "idf-weighted")}
    for group, labels in ((docs, story), (prose, {d.id: d.id for d in prose})):
        vectors, sets = content_features([d.text for d in group], load_embedder())
        k = background_rank(cfg.background_rank, len(group))
        _, sim = nearest(vectors.astype(np.float16), k, 10**6)  # the k nearest others
        low = vectors.astype(np.float16).astype(np.float32)
        cos = low @ low.T
        counts = GenreWordCounts()
        df: dict[int, int] = {}
        for words in sets:
            counts.add(0, words)
            for h in set(np.frombuffer(words, dtype=np.uint32).tolist()):
                df[h] = df.get(h, 0) + 1
        common = counts.common(0, len(group), cfg.common_share, cfg.common_min_docs)
        n = len(group)
        for i, j in itertools.combinations(range(n), 2):
            floor = max(sim[i, k - 1], sim[j, k - 1])
            if cos[i, j] < cfg.threshold or cos[i, j] - floor < cfg.margin:
                continue
            a = set(np.frombuffer(sets[i], dtype=np.uint32).tolist())
            b = set(np.frombuffer(sets[j], dtype=np.uint32).tolist())
            idf = {h: max(0.0, float(np.log(n / df[h]))) for h in a | b}
            values = (
                len(a & b) / len(a | b),
                content_overlap(sets[i], sets[j], common),
                sum(idf[h] for h in a & b) / max(1e-9, sum(idf.values())),
            )
            same = labels[group[i].id] == labels[group[j].id]
            for name, value in zip(rows, values, strict=True):
                rows[name][0 if same else 1].append(value)
    for name, (same, different) in rows.items():
        print(
            f"  {name:<17} one story: 10th percentile {np.quantile(same, 0.1):.3f}; "
            f"different texts: max {max(different):.3f} "
            f"({len(same)} one-story pairs, {len(different)} different, short + long + prose)"
        )


_SETS = {
    "short": "short set (20 stories x 3, 12 near misses; 80-150 words)",
    "long": "long set (5 stories x 3, 5 same-setting stories; 315-390 words)",
    "both": "both sets in one genre",
    "prose": "this repository's prose, 30 x 500 words",
}


def sweep() -> None:
    """The settings around the defaults, each through `clean` on every set."""
    for share in (0.1, 0.15, 0.2, 0.3, 1.0):
        for overlap in (0.1, 0.11, 0.12, 0.13, 0.14, 0.15, 0.16, 0.18, 0.27):
            got = _measure({"common_share": share, "min_word_overlap": overlap})
            print(f"  common_share {share:<4} overlap {overlap:<5}", "; ".join(got.values()))


def _pairs(
    docs: list[Document], story: dict[str, str], cfg: SemanticConfig
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Every pair of one genre through the three tests, as `clean` applies them."""
    vectors, sets = content_features([d.text for d in docs], load_embedder())
    k = background_rank(cfg.background_rank, len(docs))
    _, sim = nearest(vectors.astype(np.float16), k, 10**6)
    background = sim[:, k - 1]  # the k-th other document
    counts = GenreWordCounts()
    for words in sets:
        counts.add(0, words)
    common = counts.common(0, len(docs), cfg.common_share, cfg.common_min_docs)
    low = vectors.astype(np.float16).astype(np.float32)
    cos = low @ low.T
    same = [0, 0]
    apart = [0, 0]
    for i, j in itertools.combinations(range(len(docs)), 2):
        merge = (
            cos[i, j] >= cfg.threshold
            and cos[i, j] - max(background[i], background[j]) >= cfg.margin
            and content_overlap(sets[i], sets[j], common) >= cfg.min_word_overlap
        )
        if story[docs[i].id] == story[docs[j].id]:
            same[0] += merge
            same[1] += 1
        else:
            apart[0] += not merge
            apart[1] += 1
    return (same[0], same[1]), (apart[0], apart[1])


def _single_threshold(docs: list[Document], story: dict[str, str]) -> None:
    v = load_embedder().embed([d.text for d in docs])
    cos = v @ v.T
    groups = np.array([story[d.id] for d in docs])
    iu = np.triu_indices(len(docs), 1)
    same = groups[iu[0]] == groups[iu[1]]
    pos, neg = cos[iu][same], cos[iu][~same]
    print(
        f"  Embedder.embed cosine alone: one story median {np.median(pos):.2f} "
        f"({pos.min():.2f}-{pos.max():.2f}), different stories up to {neg.max():.2f}; "
        f"pairs of one story above every different pair: {np.mean(pos > neg.max()):.0%}; "
        f"at 0.9 (distilabel, PersonaHub): {np.mean(pos >= 0.9):.0%} merged"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=2000, help="documents for the throughput test")
    ap.add_argument("--sweep", action="store_true", help="also the settings around the defaults")
    ap.add_argument(
        "--features",
        type=int,
        metavar="N",
        help="only content_features before and now, on N documents of bench_scale's corpus",
    )
    ap.add_argument("shards", nargs="*", type=Path, help="--features: JSONL shards to read")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    if args.features:
        print("content_features, CPU seconds in one process (ratio: before / now):")
        features(args.features, args.shards)
        return
    print("throughput (one process):")
    throughput(args.docs)
    print("calibration on real prose (tests/data/semantic_calibration):")
    calibration()
    if args.sweep:
        print("settings sweep (short; long; both; repository prose):")
        sweep()


if __name__ == "__main__":
    main()
