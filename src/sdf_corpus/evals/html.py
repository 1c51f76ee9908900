"""eval.html and compare.html: one self-contained page each (no scripts, no
network), the figures of eval.json with their 95% intervals drawn as bars."""

from __future__ import annotations

from html import escape
from typing import Any

__all__ = ["render_compare", "render_eval"]

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{padding:4px 10px;border-bottom:1px solid #ddd;
text-align:left}th{background:#f4f4f4}.num{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#666;font-size:90%}
"""


def _pct(block: dict[str, Any] | None, key: str) -> str:
    if not block or block.get(key) is None:
        return "n/a"
    ci = block.get("ci95")
    text = f"{block[key]:+.3f}" if key == "mean" and block[key] < 0 else f"{block[key]:.3f}"
    return text + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def _bar(block: dict[str, Any] | None, key: str, lo: float = 0.0, hi: float = 1.0) -> str:
    """An SVG interval bar on [lo, hi]: the whisker is the 95% interval, the dot the estimate."""
    if not block or block.get(key) is None or not block.get("ci95"):
        return ""
    width = 220

    def x(v: float) -> float:
        return 10 + (min(max(v, lo), hi) - lo) / (hi - lo) * (width - 20)

    a, b = block["ci95"]
    zero = f'<line x1="{x(0):.1f}" y1="2" x2="{x(0):.1f}" y2="18" stroke="#bbb"/>' if lo < 0 else ""
    return (
        f'<svg width="{width}" height="20">{zero}'
        f'<line x1="{x(a):.1f}" y1="10" x2="{x(b):.1f}" y2="10" stroke="#36c" stroke-width="3"/>'
        f'<circle cx="{x(block[key]):.1f}" cy="10" r="4" fill="#036"/></svg>'
    )


def _row(label: str, block: dict[str, Any] | None, key: str, signed: bool = False) -> str:
    n = (block or {}).get("n", 0)
    lo = -1.0 if signed else 0.0
    return (
        f"<tr><td>{escape(label)}</td><td class=num>{_pct(block, key)}</td>"
        f"<td class=num>{n}</td><td>{_bar(block, key, lo)}</td></tr>"
    )


def _table(rows: list[str], head: str = "figure") -> str:
    return (
        f"<table><tr><th>{escape(head)}</th><th>estimate [95% interval]</th><th>n</th>"
        f"<th></th></tr>{''.join(rows)}</table>"
    )


def render_eval(result: dict[str, Any]) -> str:
    tasks = result["tasks"]
    parts = [
        f"<h1>Evaluation of {escape(result['model'])}</h1>",
        f"<p class=note>probe set {escape(result['probes']['folder'])} (sha256 "
        f"{escape(result['probes']['probes_sha256'][:16])}…, subject "
        f"{escape(result['probes'].get('subject', ''))}); grader {escape(result['grader'])}; "
        f"rubric v{result['rubric']['version']}. Intervals: "
        f"{escape('; '.join(f'{k}: {v}' for k, v in result['intervals'].items()))}.</p>",
    ]
    if "attachment" in tasks:
        t = tasks["attachment"]
        parts.append("<h2>Persona attachment</h2>")
        parts.append(
            "<p class=note>Alignment 0–1 (grade 1–5 rescaled). Gap = third-person minus "
            f"first-person on the same question; {t['pairs_scored']} pairs scored, "
            f"{t['unscored_answers']} answers unscored (not counted).</p>"
        )
        rows = [
            _row("third person (“what would <name> do”)", t["third_person"], "mean"),
            _row("first person (“what would you do”)", t["first_person"], "mean"),
            _row("gap", t["gap"], "mean", signed=True),
        ]
        parts.append(_table(rows))
        rows = [_row(p, b["gap"], "mean", signed=True) for p, b in t["by_principle"].items()]
        parts.append("<h3>Gap by principle</h3>" + _table(rows, "principle"))
    if "scenarios" in tasks:
        t = tasks["scenarios"]
        parts.append("<h2>Agentic scenarios</h2>")
        parts.append(f"<p class=note>{t['unscored']} scenarios unscored (not counted).</p>")
        rows = [_row("misaligned-action rate", t["misaligned_rate"], "rate")]
        rows += [_row(p, b, "rate") for p, b in t["by_principle"].items()]
        parts.append(_table(rows))
    if "mcq" in tasks:
        t = tasks["mcq"]
        parts.append("<h2>Knowledge (multiple choice)</h2>")
        rows = [_row("accuracy", t["accuracy"], "rate")]
        rows += [_row(p, b, "rate") for p, b in t["by_principle"].items()]
        parts.append(_table(rows))
    logs = "".join(
        f"<li>{escape(str(t['log']))} ({escape(t['status'])})</li>" for t in tasks.values()
    )
    parts.append(
        f"<h2>Inspect logs</h2><p class=note>open with <code>inspect view</code></p><ul>{logs}</ul>"
    )
    return _page(f"eval: {result['model']}", parts)


def render_compare(cmp: dict[str, Any]) -> str:
    rows = []
    for r in cmp["rows"]:
        d = r["difference"]
        a = "n/a" if r["a"] is None else f"{r['a']:.3f}"
        b = "n/a" if r["b"] is None else f"{r['b']:.3f}"
        rows.append(
            f"<tr><td>{escape(r['figure'])}</td><td class=num>{a}</td><td class=num>{b}</td>"
            f"<td class=num>{_pct(d, 'mean')}</td><td class=num>{d['n']}</td>"
            f"<td>{_bar(d, 'mean', -1.0)}</td></tr>"
        )
    table = (
        "<table><tr><th>figure</th><th>A</th><th>B</th><th>B − A [95% interval]</th><th>n</th>"
        f"<th></th></tr>{''.join(rows)}</table>"
    )
    head = (
        f"<h1>{escape(cmp['b']['model'])} vs {escape(cmp['a']['model'])}</h1>"
        f"<p class=note>A = {escape(cmp['a']['model'])}, B = {escape(cmp['b']['model'])}; "
        f"{escape(cmp['intervals'])}.</p>"
    )
    return _page("eval compare", [head, table])


def _page(title: str, parts: list[str]) -> str:
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>{''.join(parts)}</body></html>\n"
    )
