"""How far apart the fake provider's retold tellings sit (tests/fakeprovider/retold.py).

For each shape, 26 plots (the six shared ones and 20 drawn) told 2-3 times at 700 words:
cosine of the plain wordllama embedding, cosine of the clean stage's name-free word
vectors, and the Jaccard overlap of their distinct words, for tellings of one plot and of
different plots; then the same two figures for 700-word pieces of this repository's own
docs (different files), as real prose on one subject. Last, the clean stage's semantic
step at its defaults on small genres of such tellings, as a small build makes them (24
genres of 15 documents: 3 shared plots told 3 times, 6 drawn plots once; 400-900 words):
drops, drops that join two different plots, and repeats of a plot left in a genre.

    python benchmarks/retold_separation.py
"""

from __future__ import annotations

import itertools
import json
import random
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from fakeprovider.plots import SHARED, new_plot  # noqa: E402
from fakeprovider.tellings import telling  # noqa: E402
from sdf_corpus.clean.config import CleanConfig  # noqa: E402
from sdf_corpus.clean.pipeline import clean  # noqa: E402
from sdf_corpus.clean.semantic_words import content_features  # noqa: E402
from sdf_corpus.document import Document  # noqa: E402
from sdf_corpus.embed import load_embedder  # noqa: E402


def _pairs(texts: list[str], labels: list[str]) -> dict[str, list[tuple[float, float, float]]]:
    embedder = load_embedder()
    plain = embedder.embed(texts)
    vectors, sets = content_features(texts, embedder)
    words = [set(np.frombuffer(s, dtype=np.uint32).tolist()) for s in sets]
    out: dict[str, list[tuple[float, float, float]]] = {"same": [], "different": []}
    for i, j in itertools.combinations(range(len(texts)), 2):
        jaccard = len(words[i] & words[j]) / max(1, len(words[i] | words[j]))
        kind = "same" if labels[i] == labels[j] else "different"
        out[kind].append((float(plain[i] @ plain[j]), float(vectors[i] @ vectors[j]), jaccard))
    return out


def _line(name: str, rows: list[tuple[float, float, float]]) -> str:
    a = np.array(rows)
    cols = ("plain", "name-free", "overlap")
    return f"  {name:9} " + "  ".join(
        f"{c} min/med/max {a[:, k].min():.2f}/{np.median(a[:, k]):.2f}/{a[:, k].max():.2f}"
        for k, c in enumerate(cols)
    )


def main() -> None:
    plots = [*SHARED, *(new_plot(random.Random(i)) for i in range(20))]
    for style in ("blog", "story", "chat"):
        texts, labels = [], []
        for k, plot in enumerate(plots):
            for r in range(2 if k % 2 else 3):
                texts.append(telling(plot, style, "Aldous", 700, random.Random(f"{k}-{r}")))
                labels.append(plot.id)
        pairs = _pairs(texts, labels)
        print(f"{style}: {len(texts)} tellings of {len(plots)} plots")
        print(_line("same", pairs["same"]))
        print(_line("different", pairs["different"]))
    pieces, files = [], []
    for path in sorted((ROOT / "docs").glob("*.md")):
        words = re.sub(r"`[^`]*`|\|", " ", path.read_text(encoding="utf-8")).split()
        for i in range(0, len(words) - 700, 700):
            pieces.append(" ".join(words[i : i + 700]))
            files.append(path.name)
    pairs = _pairs(pieces, files)
    print(f"docs/*.md: {len(pieces)} pieces of 700 words")
    print(_line("different", pairs["different"]))
    small_genres()


def _small_genre_docs() -> tuple[list[Document], dict[str, str]]:
    docs, plot_of = [], {}
    for style in ("blog", "story", "chat", "news", "faq", "encyclopedia", "forum", "reflection"):
        for seed in range(3):
            rng = random.Random(f"{style}{seed}")
            drawn = [new_plot(random.Random(f"{style}{seed}{i}")) for i in range(6)]
            plots = [SHARED[(seed + i) % 6] for i in range(3)] + drawn
            for k, plot in enumerate(plots):
                for r in range(3 if k < 3 else 1):
                    words = rng.choice([400, 600, 900])
                    text = telling(
                        plot, style, "Aldous", words, random.Random(f"{style}{seed}{k}{r}")
                    )
                    doc = Document(id=f"{style}{seed}-{k}-{r}", genre=f"{style}{seed}", text=text)
                    docs.append(doc)
                    plot_of[doc.id] = plot.id
    return docs, plot_of


def small_genres() -> None:
    docs, plot_of = _small_genre_docs()
    config = CleanConfig.model_validate({"workers": 1, "filters": {"enabled": []}})
    with tempfile.TemporaryDirectory() as tmp:
        clean(iter(docs), Path(tmp), config, progress=False)
        rows = [json.loads(line) for line in (Path(tmp) / "rejected" / "rejected.jsonl").open()]
        kept = pq.read_table(Path(tmp) / "shards", columns=["id"]).column("id").to_pylist()
    drops = [r for r in rows if r["reason"] == "semantic_duplicate"]
    wrong = [r for r in drops if plot_of[r["id"]] != plot_of[r["duplicate_of"]]]
    told = Counter((i.split("-")[0], plot_of[i]) for i in kept)
    print(
        f"clean, semantic defaults, {len(docs)} tellings in 24 genres of 15: {len(drops)} drops, "
        f"{len(wrong)} joining different plots, {sum(n - 1 for n in told.values())} repeats kept"
    )
    for r in wrong:
        print(f"  {r['id']} ({plot_of[r['id']]}) as {r['duplicate_of']}: {r['detail']}")


if __name__ == "__main__":
    main()
