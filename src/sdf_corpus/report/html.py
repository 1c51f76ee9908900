"""report.html: one self-contained page (inline CSS, PNG data URIs, no scripts).

Every string that comes from the corpus or the run is passed through
`html.escape`: generated texts can contain anything, including markup.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

from sdf_corpus.report import charts

__all__ = ["render_html"]

SAMPLE_CHARS = 800

_CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;
 color:#1d2630;background:#f5f7fa;line-height:1.45}
main{max-width:1200px;margin:0 auto;padding:24px}
h1{margin:0 0 4px}h2{margin-top:0;border-bottom:2px solid #dde3ea;padding-bottom:4px}
section{background:#fff;border-radius:8px;padding:18px 22px;margin:18px 0;
 box-shadow:0 1px 3px rgba(0,0,0,.08)}
table{border-collapse:collapse;margin:8px 0;font-size:14px}
th,td{padding:4px 10px;border-bottom:1px solid #e6eaef;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
th{background:#eef2f6}
.flag{color:#b03a2e;font-weight:600}.muted{color:#6b7785}.ok{color:#2e7d32}
.kpis{display:flex;flex-wrap:wrap;gap:12px}
.kpi{background:#eef2f6;border-radius:6px;padding:8px 14px;min-width:150px}
.kpi b{display:block;font-size:20px}
img{max-width:100%;height:auto;display:block;margin:8px 0}
pre{white-space:pre-wrap;word-wrap:break-word;background:#f7f9fb;border:1px solid #e6eaef;
 padding:10px;border-radius:6px;font-size:13px;max-height:360px;overflow:auto}
.doc{margin:10px 0 18px}.doc .h{font-size:13px;color:#44515e}
nav a{margin-right:12px;color:#3b6ea8;text-decoration:none}
"""


from sdf_corpus.report.budget import budget_html  # noqa: E402
from sdf_corpus.report.judge import judge_html  # noqa: E402
from sdf_corpus.report.semantic_html import semantic_html  # noqa: E402
from sdf_corpus.report.subject import subject_html  # noqa: E402
from sdf_corpus.report.terminal import pending_note  # noqa: E402
from sdf_corpus.store.reports import SPEND_METRICS  # noqa: E402


class Raw(str):
    """Markup built here (already escaped) that a table cell must not escape again."""


def _e(value: Any) -> str:
    return value if isinstance(value, Raw) else html.escape(str(value))


def _num(value: Any) -> Raw:
    if value is None:
        return Raw('<span class="muted">n/a</span>')
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1:
        value = int(value)
    if isinstance(value, float):
        text = f"{value:,.1f}" if abs(value) >= 100 else f"{value:,.4f}"
    else:
        text = f"{value:,}"
    return Raw(html.escape(text))


def _pct(value: float | None, signed: bool = False) -> Raw:
    if value is None:
        return Raw('<span class="muted">n/a</span>')
    return Raw(f"{value:+.1%}" if signed else f"{value:.1%}")


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for v in row:
            numeric = isinstance(v, int | float) or (isinstance(v, Raw) and "%" in v)
            cls = ' class="n"' if numeric else ""
            cells.append(f"<td{cls}>{_e(_num(v) if isinstance(v, int | float) else v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _img(uri: str | None, alt: str) -> str:
    return f'<img src="{uri}" alt="{_e(alt)}">' if uri else ""


def _section(sid: str, title: str, body: str) -> str:
    return f'<section id="{sid}"><h2>{_e(title)}</h2>{body}</section>'


def _flag(text: str) -> str:
    return f'<p class="flag">⚠ {_e(text)}</p>'


def _overview(r: dict[str, Any]) -> str:
    mix, spend = r["mix"], r["spend"]
    kpis = [("documents", f"{mix['total_docs']:,}"), ("tokens", f"{mix['total_tokens']:,}")]
    if mix["has_targets"]:
        kpis.append(("target tokens", f"{mix['target_tokens']:,}"))
        kpis.append(("mix TVD", f"{mix['total_variation_distance']:.3f}"))
    if spend:
        kpis.append(("spend", f"${spend['totals']['cost_usd']:.4f}"))
    kpis.append(("zero cells", f"{len(r['coverage']['zero_cells'])} / {r['coverage']['cells']}"))
    sem = r.get("semantic")
    if sem and (sampled := sum(g["sampled"] for g in sem["by_genre"])):
        in_clusters = sum(g["docs_in_clusters"] for g in sem["by_genre"])
        kpis.append(("in near-duplicate clusters", f"{in_clusters / sampled:.1%}"))
    boxes = "".join(f'<div class="kpi">{_e(k)}<b>{_e(v)}</b></div>' for k, v in kpis)
    return f'<div class="kpis" id="kpis">{boxes}</div>'


def _mix(mix: dict[str, Any]) -> str:
    rows = [
        (
            g["genre"] or "(no genre)",
            g["docs"],
            g["tokens"],
            _pct(g["share"]),
            g["target_tokens"],
            _pct(g["target_share"]),
            _pct(g["relative_error"], signed=True),
            (g["jobs"] or {}).get("planned") if g["jobs"] else None,
        )
        for g in mix["genres"]
    ]
    body = _table(
        [
            "genre",
            "documents",
            "tokens",
            "share",
            "target tokens",
            "target share",
            "error vs target",
            "jobs planned",
        ],
        rows,
    )
    if mix["has_targets"]:
        body = (
            f"<p>Total variation distance between target and actual token shares: "
            f"<b>{mix['total_variation_distance']:.3f}</b> (0 = exact mix, 1 = disjoint).</p>"
            + (f"<p><b>{_e(pending_note(n))}</b></p>" if (n := mix["pending_jobs"]) else "")
            + body
        )
    else:
        body = (
            '<p class="muted">No ledger: this run was not generated here, so targets are '
            "unknown; actual figures only.</p>" + body
        )
    return body + _img(charts.mix_chart(mix), "token share by genre")


def _coverage(cov: dict[str, Any]) -> str:
    zero = cov["zero_cells"]
    if not cov["reported"]:
        return '<p class="muted">Not reported: the documents carry no genre or principle.</p>'
    note = (
        _flag(f"{len(zero)} of {cov['cells']} cells have no documents")
        if zero
        else f'<p class="ok">All {cov["cells"]} cells have at least one document.</p>'
    )
    return note + _img(charts.coverage_chart(cov), "coverage heatmap")


def _dist_table(dist: dict[str, Any]) -> str:
    if not dist["distinct"]:
        return '<p class="muted">None recorded: no document carries this field.</p>'
    show_id = any(r["name"] != r["id"] for r in dist["top"])
    rows = [
        [
            Raw(f'<span class="flag">{_e(r["name"])}</span>') if r["over_threshold"] else r["name"],
            *([r["id"]] if show_id else []),
            r["docs"],
            _pct(r["share"]),
        ]
        for r in dist["top"]
    ]
    headers = ["name", *(["id"] if show_id else []), "documents", "share"]
    return (
        f"<p>{dist['distinct']} distinct; entropy <b>{dist['entropy_bits']:.2f}</b> bits "
        f"(uniform would be {dist['max_entropy_bits']:.2f}); top {len(rows)} shown.</p>"
        + _table(headers, rows)
    )


def _names(names: dict[str, Any]) -> str:
    t = names["threshold"]
    out = []
    flagged = names["ai_names"]["flagged"]
    if flagged:
        listed = ", ".join(f"{r['name']} ({r['share']:.1%})" for r in flagged[:12])
        more = f" and {len(flagged) - 12} more" if len(flagged) > 12 else ""
        out.append(
            _flag(
                f"{len(flagged)} AI names each appear in more than {t:.0%} of "
                f"documents: {listed}{more}"
            )
        )
    if names.get("small_corpus_note"):
        out.append(f'<p class="muted">{_e(names["small_corpus_note"])}</p>')
    for r in names["excluded_found"]:
        out.append(
            _flag(
                f"excluded name {r['name']!r} found in {r['docs']} kept documents "
                f"(e.g. {r['example_id']})"
            )
        )
    if names["excluded_names"] and not names["excluded_found"]:
        out.append(
            f'<p class="ok">No excluded name ({_e(", ".join(names["excluded_names"]))}) '
            f"in kept texts; {names['excluded_dropped_docs']} documents were dropped "
            "for naming one.</p>"
        )
    out.append("<h3>Cast AI characters</h3>" + _dist_table(names["ai_names"]))
    out.append(
        _img(charts.names_chart(names["ai_names"], t, "Share of documents by AI name"), "AI names")
    )
    out.append("<h3>Authors / narrators</h3>" + _dist_table(names["authors"]))
    return "".join(out)


def _lengths(lengths: dict[str, Any]) -> str:
    rows = [
        (g, s["docs"], s["min"], s["median"], s["p90"], s["max"], s["mean"])
        for g, s in lengths.items()
    ]
    return _table(["genre", "documents", "min", "median", "p90", "max", "mean"], rows) + _img(
        charts.lengths_chart(lengths), "length by genre"
    )


def _example(ex: dict[str, Any] | None) -> Raw:
    if not ex:
        return Raw('<span class="muted">no example kept</span>')
    detail = f'<div class="muted">{_e(ex["detail"])}</div>' if ex.get("detail") else ""
    dup = (
        f'<div class="muted">duplicate of {_e(ex["duplicate_of"])}</div>'
        if ex.get("duplicate_of")
        else ""
    )
    text = ex["text"][:SAMPLE_CHARS] + ("…" if ex.get("truncated") else "")
    return Raw(
        f'<div class="muted">{_e(ex["id"])} · {_e(ex["genre"])}</div>{detail}{dup}'
        f"<pre>{_e(text)}</pre>"
    )


def _drops(drops: dict[str, Any]) -> str:
    if not drops["has_clean_stats"]:
        return '<p class="muted">No clean_stats.json in this run directory.</p>'
    d, i = drops["dropped"], drops["input"]
    out = [
        f"<p>{d.get('docs', 0):,} of {i['docs']:,} documents dropped "
        f"({d.get('tokens', 0):,} of {i['tokens']:,} tokens).</p>"
    ]
    rows = [
        (r["stage"], r["reason"], r["docs"], r["tokens"], _example(r["example"]))
        for r in drops["reasons"]
    ]
    out.append(_table(["stage", "reason", "documents", "tokens", "example"], rows))
    failed = drops["generation_failed"]
    if failed and failed["jobs"]:
        out.append(f"<h3>Generation failures: {failed['jobs']:,} jobs</h3>")
        out.append(
            _table(
                ["job", "genre", "error"],
                [(f["id"], f["genre"], f["error"]) for f in failed["examples"]],
            )
        )
    return "".join(out) + _img(charts.drops_chart(drops), "drops by reason")


def _spend(spend: dict[str, Any] | None) -> str:
    if spend is None:
        return (
            '<p class="muted">No ledger in this run directory (a clean-only run): spend '
            "and request figures are not available.</p>"
        )
    t = spend["totals"]
    cols = list(SPEND_METRICS)
    head = [c.replace("_", " ") for c in cols]
    out = [
        f"<p>${t['cost_usd']:.4f} over {t['requests']:,} requests (all attempts); "
        f"{t['input_tokens']:,} input / {t['output_tokens']:,} output tokens, cache read "
        f"{t['cache_read_tokens']:,} / write {t['cache_write_tokens']:,}.</p>"
    ]
    for key in ("stage", "model", "genre"):
        rows = [[r[key], *(r[c] for c in cols)] for r in spend[f"by_{key}"]]
        out.append(f"<h3>By {key}</h3>" + _table([key, *head], rows))
    return "".join(out) + f'<p class="muted">{_e(spend["note"])}</p>'


def _diversity(div: dict[str, Any], sampling: dict[str, Any]) -> str:
    out = [
        f"<p>distinct-1 <b>{div['distinct_1']:.3f}</b> · distinct-2 "
        f"<b>{div['distinct_2']:.3f}</b> · distinct-3 <b>{div['distinct_3']:.3f}</b> "
        f'<span class="muted">(on {sampling["diversity_docs"]:,} documents, first '
        f"{sampling['diversity_chars_per_doc']:,} characters each)</span></p>"
    ]
    out += [
        _flag(f"stock opening “{s['phrase']}” starts {s['docs']} documents ({s['share']:.1%})")
        for s in div["openings"]["stock"]
    ]
    rows = [
        (
            Raw(f'<span class="flag">{_e(o["opening"])}</span>') if o["stock"] else o["opening"],
            o["docs"],
            _pct(o["share"]),
        )
        for o in div["openings"]["top"]
    ]
    out.append(
        "<h3>Most repeated openings (first 5 words)</h3>"
        + (
            _table(["opening", "documents", "share"], rows)
            if rows
            else '<p class="ok">No opening is shared by two documents.</p>'
        )
    )
    rows = [(p["phrase"], p["docs"], _pct(p["share"])) for p in div["phrases_6gram"]]
    out.append(
        "<h3>Most repeated 6-word phrases</h3>"
        + (
            _table(["phrase", "documents in sample", "share"], rows)
            if rows
            else '<p class="ok">No 6-word phrase repeats across documents.</p>'
        )
    )
    clusters = [(int(k), v) for k, v in div["near_dup_cluster_sizes"].items()]
    out.append(
        "<h3>Near-duplicate clusters</h3>"
        + (
            _table(["cluster size", "clusters"], sorted(clusters))
            if clusters
            else '<p class="muted">No near-duplicate clusters found.</p>'
        )
    )
    return "".join(out)


def _samples(samples: dict[str, list[dict[str, Any]]]) -> str:
    out = []
    for genre, docs in samples.items():
        out.append(f"<h3>{_e(genre)}</h3>")
        for d in docs:
            name = d.get("persona_name") or d["persona_id"]
            text = d["text"][:SAMPLE_CHARS]
            if d["truncated"] or len(d["text"]) > SAMPLE_CHARS:
                text += " …"
            out.append(
                f'<div class="doc"><div class="h">{_e(d["id"])} · '
                f"{_e(d['principle_id'])} · {_e(name)} · {d['n_tokens']:,} tokens"
                f"</div><pre>{_e(text)}</pre></div>"
            )
    return "".join(out) or '<p class="muted">No documents.</p>'


_NAV = (
    ("overview", "Overview"),
    ("mix", "Mix"),
    ("budget", "Budget"),
    ("coverage", "Coverage"),
    ("subject", "Subject"),
    ("names", "Names"),
    ("lengths", "Lengths"),
    ("drops", "Drops"),
    ("spend", "Spend"),
    ("diversity", "Diversity"),
    ("meaning", "Meaning"),
    ("judge", "Judge"),
    ("samples", "Samples"),
)


def render_html(r: dict[str, Any]) -> str:
    parts = {
        "overview": _overview(r),
        "mix": _mix(r["mix"]),
        "budget": budget_html(r.get("budget")),
        "coverage": _coverage(r["coverage"]),
        "subject": subject_html(r.get("subject")),
        "names": _names(r["names"]),
        "lengths": _lengths(r["lengths"]),
        "drops": _drops(r["drops"]),
        "spend": _spend(r["spend"]),
        "diversity": _diversity(r["diversity"], r["sampling"]),
        "meaning": semantic_html(r.get("semantic")),
        "samples": _samples(r["samples"]),
        "judge": judge_html(r.get("judge")),
    }
    body = "".join(_section(sid, title, parts[sid]) for sid, title in _NAV)
    nav = "".join(f'<a href="#{sid}">{_e(t)}</a>' for sid, t in _NAV)
    run = r["run"]
    title = f"sdf-corpus report: {run['name'] or run['run_dir']}"
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>"
        f'<h1 id="report-title">{_e(title)}</h1><p class="muted">{_e(run["run_dir"])} · '
        f"{_e(run['created_at'])} · tokenizer {_e(run['tokenizer'])} · {run['shards']} "
        f"shards</p><nav>{nav}</nav>{body}"
        f'<p class="muted">Sampling: {_e(r["sampling"]["diversity_method"])}.</p>'
        "</main></body></html>\n"
    )
