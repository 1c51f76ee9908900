"""Calibrate the idea pool's threshold on short ideas (benchmarks/data/pool_ideas.yaml).

Prints, for the packaged embedder: the cosine of every retold pair (one idea, then the same
events with new names, place and wording), the highest cosine between two different ideas of
the same cell, and for a range of thresholds how many retellings are caught and how many
distinct pairs would be wrongly merged. The default (`ideas.threshold`) must merge no
distinct pair.

    python benchmarks/bench_pool.py
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import yaml

from sdf_corpus.embed import load_embedder
from sdf_corpus.ideas.config import IdeasSpec

DATA = Path(__file__).resolve().parent / "data" / "pool_ideas.yaml"


_NAMES = ("Ilse", "Tomasz", "Mbali", "Ruairi", "Kenji", "Paloma", "Oskar", "Nadia", "Teodor")


def _renamed(text: str) -> str:
    """The same idea with every capitalised word but a sentence's first swapped for a name:
    the cheapest retelling, which a model repeating itself at temperature 1 often gives."""
    out, start, k = [], True, 0
    for word in text.split():
        if word[:1].isupper() and not start:
            out.append(_NAMES[k % len(_NAMES)] + word[len(word.rstrip(".,;:!?'\"")) :])
            k += 1
        else:
            out.append(word)
        start = word.endswith((".", "!", "?"))
    return " ".join(out)


def main() -> None:
    data = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    distinct: list[str] = data["distinct"]
    retold: list[list[str]] = data["retold"]
    embed = load_embedder().embed
    v = embed(distinct)
    apart = [float(v[i] @ v[j]) for i, j in itertools.combinations(range(len(distinct)), 2)]
    pairs = [
        float(a @ b)
        for a, b in zip(embed([p[0] for p in retold]), embed([p[1] for p in retold]), strict=True)
    ]
    renamed = [float(a @ b) for a, b in zip(v, embed([_renamed(t) for t in distinct]), strict=True)]
    print(f"distinct ideas: {len(distinct)} ({len(apart)} pairs); retold pairs: {len(pairs)}")
    print(
        f"distinct pairs: max {max(apart):.3f}, p95 {np.percentile(apart, 95):.3f}, "
        f"median {np.median(apart):.3f}"
    )
    print(
        f"retold pairs:   min {min(pairs):.3f}, median {np.median(pairs):.3f}, max {max(pairs):.3f}"
    )
    print(
        f"renamed:        min {min(renamed):.3f}, median {np.median(renamed):.3f} "
        "(names and places swapped, same words)"
    )
    default = IdeasSpec().threshold
    for t in sorted({0.40, 0.45, 0.50, 0.55, 0.60, 0.70, 0.80, 0.90, default}):
        caught = sum(p >= t for p in pairs)
        swapped = sum(p >= t for p in renamed)
        false = sum(a >= t for a in apart)
        mark = "  <- default" if t == default else ""
        print(
            f"threshold {t:.2f}: retellings caught {caught}/{len(pairs)}, renamed caught "
            f"{swapped}/{len(renamed)}, distinct pairs merged {false}{mark}"
        )


if __name__ == "__main__":
    main()
