"""How far apart the fake provider's retold tellings sit (tests/fakeprovider/retold.py).

For each shape, 26 plots (the six shared ones and 20 drawn) told 2-3 times at 700 words:
cosine of the plain wordllama embedding, cosine of the clean stage's name-free word
vectors, and the Jaccard overlap of their distinct words, for tellings of one plot and of
different plots; then the same two figures for 700-word pieces of this repository's own
docs (different files), as real prose on one subject.

    python benchmarks/retold_separation.py
"""

from __future__ import annotations

import itertools
import random
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from fakeprovider.plots import SHARED, new_plot  # noqa: E402
from fakeprovider.tellings import telling  # noqa: E402
from sdf_corpus.clean.semantic_words import content_features  # noqa: E402
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


if __name__ == "__main__":
    main()
