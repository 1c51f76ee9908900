"""The semantic step: embedding throughput and its calibration on real prose.

Throughput: the step's own text vectors (`clean.semantic_words.content_features`: words
found once per chunk, one model row per distinct word) against the model's own
`Embedder.embed()` (wordllama tokenises every text), on the same documents in one
process, tokens per second (approx-words-v1 tokens).

Calibration: the original stories of tests/data/semantic_calibration/ (20 stories told
three times each in other words and names, 12 near misses in the same setting) through
`clean` with the default settings: rewordings merged, false merges; and by pairs, how
many pairs of one story pass all three tests and how many pairs of different stories
are kept apart; beside it, what one threshold on `Embedder.embed()` cosines does (the
peers' way: distilabel's EmbeddingDedup and PersonaHub use 0.9).

    .venv/bin/python benchmarks/bench_semantic.py
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine
from _corpus import jsonl_corpus

from sdf_corpus.clean.config import CleanConfig, SemanticConfig
from sdf_corpus.clean.minhash import exact_jaccard
from sdf_corpus.clean.neighbours import nearest
from sdf_corpus.clean.pipeline import clean
from sdf_corpus.clean.semantic_words import content_features
from sdf_corpus.clean.tokens import ApproxCounter
from sdf_corpus.embed import load_embedder
from semantic_calibration import calibration_documents, score


def throughput(n_docs: int) -> None:
    texts = [
        json.loads(line)["text"]
        for line in itertools.islice(jsonl_corpus(None, words=None), n_docs)
    ]
    tokens = sum(map(ApproxCounter().count, texts))
    embedder = load_embedder()
    content_features(texts[:64], embedder)  # warm: token ids of the common words
    rates = {}
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


def calibration() -> None:
    docs, story = calibration_documents()
    cfg = SemanticConfig()
    with tempfile.TemporaryDirectory() as tmp:
        clean(iter(docs), Path(tmp) / "out", CleanConfig(workers=1), progress=False)
        out = Path(tmp) / "out"
        import pyarrow.parquet as pq

        kept = set(pq.read_table(out / "shards", columns=["id"]).column("id").to_pylist())
        rejected = [json.loads(line) for line in (out / "rejected" / "rejected.jsonl").open()]
    s = score(story, kept, rejected)
    print(
        f"  clean, defaults (threshold {cfg.threshold}, margin {cfg.margin} over the "
        f"{cfg.background_rank}th neighbour, word overlap {cfg.min_word_overlap}): "
        f"{s.merged} of {s.rewordings} rewordings merged, {s.false_merges} false merges, "
        f"{s.stories_kept} of {s.stories} stories kept"
    )
    same, apart = _pairs(docs, story, cfg)
    print(f"  pairs of one story passing all three tests: {same[0]} of {same[1]}")
    print(f"  pairs of different stories kept apart: {apart[0]} of {apart[1]}")
    _single_threshold(docs, story)


def _pairs(
    docs: list, story: dict[str, str], cfg: SemanticConfig
) -> tuple[tuple[int, int], tuple[int, int]]:
    vectors, sets = content_features([d.text for d in docs], load_embedder())
    k = min(cfg.background_rank, len(docs) - 1)
    _, sim = nearest(vectors.astype(np.float16), k + 1, 10**6)
    background = sim[:, k]  # k-th other (slot 0 is the document itself)
    cos = (
        vectors.astype(np.float16).astype(np.float32)
        @ vectors.astype(np.float16).astype(np.float32).T
    )
    same = [0, 0]
    apart = [0, 0]
    for i, j in itertools.combinations(range(len(docs)), 2):
        merge = (
            cos[i, j] >= cfg.threshold
            and cos[i, j] - max(background[i], background[j]) >= cfg.margin
            and exact_jaccard(sets[i], sets[j]) >= cfg.min_word_overlap
        )
        if story[docs[i].id] == story[docs[j].id]:
            same[0] += merge
            same[1] += 1
        else:
            apart[0] += not merge
            apart[1] += 1
    return (same[0], same[1]), (apart[0], apart[1])


def _single_threshold(docs: list, story: dict[str, str]) -> None:
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
    args = ap.parse_args()
    print(f"machine: {machine()}")
    print("throughput (one process):")
    throughput(args.docs)
    print("calibration on real prose (tests/data/semantic_calibration):")
    calibration()


if __name__ == "__main__":
    main()
