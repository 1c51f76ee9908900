"""matplotlib charts of the report, each returned as a base64 PNG data URI.

PNG data URIs keep report.html one file that renders offline; the Agg backend
needs no display, so reports build on headless machines.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import ticker
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

__all__ = [
    "corpus_map_chart",
    "coverage_chart",
    "drops_chart",
    "lengths_chart",
    "mix_chart",
    "names_chart",
]

_BLUE, _GREY, _RED, _ORANGE = "#3b6ea8", "#b9c4cf", "#c0392b", "#e08e2b"


def _to_uri(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(width: float, height: float) -> tuple[Figure, Any]:
    fig, ax = plt.subplots(figsize=(width, height))
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def mix_chart(mix: dict[str, Any]) -> str | None:
    rows = mix["genres"]
    if not rows:
        return None
    fig, ax = _figure(8, 0.45 * len(rows) + 1.2)
    y = np.arange(len(rows))
    actual = [r["share"] for r in rows]
    ax.barh(y + 0.2, actual, height=0.4, color=_BLUE, label="actual share of tokens")
    if mix["has_targets"]:
        target = [r["target_share"] or 0.0 for r in rows]
        ax.barh(y - 0.2, target, height=0.4, color=_GREY, label="target share")
    ax.set_yticks(y, [r["genre"] for r in rows])
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(ticker.PercentFormatter(1.0))
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.set_title("Token share by genre")
    return _to_uri(fig)


def coverage_chart(cov: dict[str, Any]) -> str | None:
    genres, principles = cov["genres"], cov["principles"]
    if not genres or not principles:
        return None
    data = np.array(cov["docs"], dtype=float).T  # principles as rows: labels stay readable
    fig, ax = _figure(1.0 * len(genres) + 4, 0.28 * len(principles) + 1.5)
    im = ax.imshow(data, aspect="auto", cmap="Blues", vmin=0, vmax=max(1.0, data.max()))
    for i, j in zip(*np.nonzero(data == 0), strict=True):
        ax.add_patch(
            Rectangle(
                (j - 0.5, i - 0.5),
                1,
                1,
                fill=True,
                facecolor="#fbe3e0",
                edgecolor=_RED,
                linewidth=1.2,
            )
        )
    if data.size <= 900:
        for (i, j), n in np.ndenumerate(data):
            colour = "white" if n > data.max() * 0.6 else "black"
            ax.text(
                j,
                i,
                f"{int(n)}",
                ha="center",
                va="center",
                fontsize=7,
                color=_RED if n == 0 else colour,
            )
    ax.set_xticks(range(len(genres)), genres, rotation=35, ha="right")
    ax.set_yticks(range(len(principles)), [p["id"] for p in principles], fontsize=7)
    ax.set_title("Documents per genre × principle (red: none)")
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.02)
    return _to_uri(fig)


def names_chart(dist: dict[str, Any], threshold: float, title: str) -> str | None:
    rows = dist["top"]
    if not rows:
        return None
    fig, ax = _figure(8, 0.32 * len(rows) + 1.2)
    colours = [_RED if r["over_threshold"] else _BLUE for r in rows]
    ax.barh(range(len(rows)), [r["share"] for r in rows], color=colours)
    ax.axvline(threshold, color=_ORANGE, linestyle="--", label=f"threshold {threshold:.0%}")
    ax.set_yticks(range(len(rows)), [r["name"] for r in rows])
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(ticker.PercentFormatter(1.0))
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.set_title(title)
    return _to_uri(fig)


def lengths_chart(lengths: dict[str, Any]) -> str | None:
    if not lengths:
        return None
    stats = [
        {
            "label": g,
            "med": s["median"],
            "q1": s["p25"],
            "q3": s["p75"],
            "whislo": s["min"],
            "whishi": s["max"],
            "fliers": [],
        }
        for g, s in lengths.items()
    ]
    fig, ax = _figure(8, 0.45 * len(stats) + 1.2)
    ax.bxp(
        stats,
        orientation="horizontal",
        showfliers=False,
        patch_artist=True,
        boxprops={"facecolor": "#dbe6f2", "edgecolor": _BLUE},
        medianprops={"color": _RED},
    )
    for i, s in enumerate(lengths.values(), start=1):
        ax.plot([s["p90"]], [i], marker="|", markersize=14, color=_ORANGE)
    ax.invert_yaxis()
    ax.set_xlabel(
        "tokens per document (box: p25-p75, line: median, orange: p90, whiskers: min-max)"
    )
    ax.set_title("Length by genre")
    return _to_uri(fig)


def drops_chart(drops: dict[str, Any]) -> str | None:
    rows = drops["reasons"]
    if not rows:
        return None
    fig, ax = _figure(8, 0.4 * len(rows) + 1.2)
    ax.barh(range(len(rows)), [r["docs"] for r in rows], color=_ORANGE)
    ax.set_yticks(range(len(rows)), [f"{r['stage']}/{r['reason']}" for r in rows])
    ax.invert_yaxis()
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.set_xlabel("documents dropped")
    ax.set_title("Drops by stage and reason")
    return _to_uri(fig)


def corpus_map_chart(corpus_map: dict[str, Any]) -> str | None:
    """One point per sampled document on the first two principal components, by genre."""
    points = corpus_map.get("points") or []
    if not points:
        return None
    genres = corpus_map["genres"]
    data = np.array(points, dtype=float)
    fig, ax = _figure(8, 6)
    cmap = plt.get_cmap("tab20" if len(genres) > 10 else "tab10")
    size = 14 if len(points) <= 500 else 5
    for i, genre in enumerate(genres):
        mine = data[data[:, 2] == i]
        if len(mine):
            ax.scatter(
                mine[:, 0],
                mine[:, 1],
                s=size,
                alpha=0.7,
                color=cmap(i % cmap.N),
                label=genre or "(no genre)",
            )
    pc1, pc2 = corpus_map["explained"]
    ax.set_xlabel(f"component 1 ({pc1:.0%} of variance)")
    ax.set_ylabel(f"component 2 ({pc2:.0%} of variance)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, markerscale=2)
    ax.set_title(f"Map of the corpus: {len(points):,} documents, coloured by genre")
    return _to_uri(fig)
