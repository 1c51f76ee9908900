"""The meaning section of report.html and its lines in the terminal summary."""

from __future__ import annotations

from html import escape
from typing import Any

from sdf_corpus.report import charts
from sdf_corpus.report.terminal import NO_POOL, count

__all__ = ["semantic_html"]


def _e(value: Any) -> str:
    return escape(str(value))


def _f(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{_e(v)}</td>' if isinstance(v, int | float) else f"<td>{_e(v)}</td>"
            for v in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


_HEAD = [
    "documents",
    "sampled",
    "NN cosine p10",
    "median",
    "p90",
    "max",
    "in clusters",
    "clusters",
    "largest",
    "Vendi score",
    "mean pairwise cosine",
]


_POOL_HEAD = ["ideas asked for", "kept", "too close"]


def _pool_cells(r: dict[str, Any]) -> list[Any]:
    ideas = r.get("ideas")
    if not ideas:
        return ["-", "-", "-"]
    return [ideas["asked"], ideas["kept"], ideas["dropped_too_close"]]


def _figure_cells(r: dict[str, Any]) -> list[Any]:
    nn = r["nearest_neighbour"] or {}
    return [
        r["sampled"],
        _f(nn.get("p10")),
        _f(nn.get("median")),
        _f(nn.get("p90")),
        _f(nn.get("max")),
        f"{r['cluster_share']:.1%}",
        r["clusters"],
        r["largest_cluster"],
        _f(r["vendi_score"], 1),
        _f(r["mean_pairwise_cosine"]),
    ]


def _clusters(sec: dict[str, Any]) -> str:
    if not sec["clusters"]:
        return (
            f'<p class="ok">No two sampled documents of a genre at cosine ≥ '
            f"{sec['threshold']:.2f}.</p>"
        )
    out = [
        f"<p>{sec['clusters_total']:,} clusters in the sample; the largest "
        f"{len(sec['clusters'])}, with their first members and each one's cosine to the "
        "first; <code>sdf-corpus inspect RUN --similar ID</code> lists any member's "
        "neighbours.</p>"
    ]
    for i, c in enumerate(sec["clusters"], start=1):
        rows = [
            [
                m["id"],
                m["principle_id"],
                m["first_line"],
                f"{m['cosine_to_first']:.3f}" if j else "-",
            ]
            for j, m in enumerate(c["members"])
        ]
        out.append(
            f'<h4 id="cluster-{i}">{_e(c["genre"])}: {c["size"]} documents</h4>'
            + _table(["id", "principle", "first line", "cosine"], rows)
        )
    return "".join(out)


def _removed(sec: dict[str, Any]) -> str:
    removed = sec["removed_by_clean"]["largest"]
    if not removed:
        return '<p class="muted">The clean stage removed no document as a semantic duplicate.</p>'
    rows = [
        [
            r["genre"],
            r["kept"]["id"],
            r["kept"]["first_line"] or "(no longer in the shards)",
            r["dropped"],
            " · ".join(m["first_line"] for m in r["members"]),
        ]
        for r in removed
    ]
    total = sec["removed_by_clean"]
    return (
        f"<p>{_e(count(total['dropped'], 'document'))} dropped as repeats of "
        f"{_e(count(total['documents_repeated'], 'kept document'))}; the most repeated:</p>"
        + _table(
            ["genre", "kept document", "its first line", "dropped", "dropped first lines"], rows
        )
    )


def _pool(pool: dict[str, Any]) -> str:
    if not pool["present"]:
        return f'<p class="muted" id="idea-pool-none">{NO_POOL}.</p>'
    rows = [
        [r["genre"], r["asked"], r["kept"], r["dropped_too_close"], _f(r["kept_share"])]
        for r in pool["by_genre"]
    ]
    t = pool["total"]
    rows.append(["all", t["asked"], t["kept"], t["dropped_too_close"], _f(t["kept_share"])])
    return _table(["genre", "ideas asked for", "kept", "dropped as too close", "kept share"], rows)


def _clean_note(sec: dict[str, Any]) -> str:
    settings = sec.get("clean_semantic")
    if not settings:
        return "The run records no semantic clean step."
    if not settings.get("enabled", True):
        return "The clean stage's semantic step was off."
    return (
        f"The clean stage's semantic step ran with its own measure (name-insensitive word "
        f"vectors at cosine ≥ {settings.get('threshold')}, with a margin and a word overlap)."
    )


def semantic_html(sec: dict[str, Any] | None) -> str:
    if not sec:
        return '<p class="muted">Not computed (report --no-semantic).</p>'
    s = sec["sample"]
    pooled = sec["idea_pool"]["present"]
    pool_head = _POOL_HEAD if pooled else []

    def pool(r: dict[str, Any]) -> list[Any]:
        return _pool_cells(r) if pooled else []

    out = [
        f"<p>Embedder {_e(sec['embedder'])}; near-duplicates: document cosine ≥ "
        f"<b>{sec['threshold']:.2f}</b> in one genre. {_e(_clean_note(sec))} "
        f'<span class="muted">Sample: {_e(s["method"])}; {s["docs"]:,} documents.</span></p>',
        "<h3>By genre</h3>",
        _table(
            ["genre", *_HEAD, *pool_head],
            [[r["genre"], r["docs"], *_figure_cells(r), *pool(r)] for r in sec["by_genre"]],
        ),
        "<h3>By cell (genre × principle)</h3>",
        _table(
            ["genre", "principle", *_HEAD[1:], *pool_head],
            [[r["genre"], r["principle_id"], *_figure_cells(r), *pool(r)] for r in sec["by_cell"]],
        ),
        '<h3 id="semantic-clusters">Largest clusters</h3>',
        _clusters(sec),
        "<h3>Removed by the clean stage</h3>",
        _removed(sec),
        '<h3 id="idea-pool">Idea pool</h3>',
        _pool(sec["idea_pool"]),
        "<h3>Map of the corpus</h3>",
    ]
    uri = charts.corpus_map_chart(sec["map"])
    out.append(f'<img src="{uri}" alt="map of the corpus">' if uri else "")
    return "".join(out)
