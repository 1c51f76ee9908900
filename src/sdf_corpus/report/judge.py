"""The judge section: score distributions per genre and criterion, the share of
documents with explicit reasoning, and the worst examples per criterion.

Reads only the shards' `judge`, `id`, `genre` and `text` columns, in batches;
worst examples are kept in bounded heaps, so memory does not grow with the corpus.
"""

from __future__ import annotations

import heapq
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from sdf_corpus.runfolder.rows import iter_rows, read_schema

__all__ = ["REASONING_MIN", "judge_figures", "judge_html", "judge_lines"]

REASONING_MIN = 4  # "explicit reasoning" = a reasoning score of 4 or 5 on the 1-5 scale
_WORST = 3
_META = ("status", "rubric", "model", "justifications")


def judge_figures(shards: Sequence[Path]) -> dict[str, Any] | None:
    """None when the shards carry no judge column (judging was off)."""
    if not shards or "judge" not in read_schema(shards[0]).names:
        return None
    dist: dict[str, dict[str, Counter[int]]] = defaultdict(lambda: defaultdict(Counter))
    status: Counter[str] = Counter()
    worst: dict[str, list[tuple[int, str, dict[str, Any]]]] = defaultdict(list)
    criteria: list[str] = []
    for row in iter_rows(shards, ["id", "genre", "text", "judge"]):
        j = row.get("judge") or {}
        criteria = criteria or [k for k in j if k not in _META]
        status[j.get("status") or "missing"] += 1
        _count(row, j, criteria, dist, worst)
    return _summarise(criteria, dist, status, worst)


def _count(
    row: dict[str, Any],
    j: dict[str, Any],
    criteria: list[str],
    dist: dict[str, dict[str, Counter[int]]],
    worst: dict[str, list[tuple[int, str, dict[str, Any]]]],
) -> None:
    why = j.get("justifications") or {}
    if isinstance(why, str):  # runs judged before justifications became a struct
        why = json.loads(why)
    for c in criteria:
        score = j.get(c)
        if score is None:
            continue
        dist[c][row["genre"]][score] += 1
        item = (
            -score,
            row["id"],
            {
                "id": row["id"],
                "genre": row["genre"],
                "score": score,
                "why": why.get(c, ""),
                "text": row["text"][:600],
            },
        )
        heap = worst[c]
        if len(heap) < _WORST:
            heapq.heappush(heap, item)
        else:
            heapq.heappushpop(heap, item)


def _summarise(
    criteria: list[str],
    dist: dict[str, dict[str, Counter[int]]],
    status: Counter[str],
    worst: dict[str, list[tuple[int, str, dict[str, Any]]]],
) -> dict[str, Any]:
    out: dict[str, Any] = {"status": dict(status), "criteria": criteria, "by_criterion": {}}
    for c in criteria:
        per_genre = {
            g: {
                "n": sum(cnt.values()),
                "mean": _mean(cnt),
                "histogram": {str(k): v for k, v in sorted(cnt.items())},
            }
            for g, cnt in sorted(dist[c].items())
        }
        out["by_criterion"][c] = {
            "per_genre": per_genre,
            "worst": [w[2] for w in sorted(worst[c], key=lambda t: (-t[0], t[1]))],
        }
    reasoning = dist.get("reasoning", {})
    scored = sum(sum(cnt.values()) for cnt in reasoning.values())
    explicit = sum(n for cnt in reasoning.values() for s, n in cnt.items() if s >= REASONING_MIN)
    out["explicit_reasoning_share"] = round(explicit / scored, 4) if scored else None
    # The first-person genres' aim: the value presented as the speaker's own (4 or 5).
    owned = dist.get("ownership", {})
    n_owned = sum(sum(cnt.values()) for cnt in owned.values())
    held = sum(n for cnt in owned.values() for s, n in cnt.items() if s >= REASONING_MIN)
    out["first_person_ownership_share"] = round(held / n_owned, 4) if n_owned else None
    return out


def _mean(cnt: Counter[int]) -> float:
    n = sum(cnt.values())
    return round(sum(k * v for k, v in cnt.items()) / n, 3) if n else 0.0


def judge_lines(section: dict[str, Any] | None) -> list[str]:
    if not section:
        return []
    share = section["explicit_reasoning_share"]
    means = (
        ", ".join(
            f"{c} {_score(_overall(section['by_criterion'][c]['per_genre']))}"
            for c in section["criteria"]
        )
        or "n/a"
    )
    text = f"{share:.0%}" if share is not None else "n/a"
    owned = section.get("first_person_ownership_share")
    if owned is not None:
        text += f"; first-person ownership (>= {REASONING_MIN}) in {owned:.0%}"
    return [
        f"judge: {status_sentence(section['status'])}; explicit reasoning (a reasoning score "
        f">= {REASONING_MIN}) in {text} of the judged documents; mean scores on 1-5: {means}"
    ]


def status_sentence(status: dict[str, int]) -> str:
    """{"judged": 8, "unjudged": 4} as words."""
    total = sum(status.values())
    judged = status.get("judged", 0)
    text = f"{judged:,} of {total:,} documents judged"
    if status.get("unjudged"):
        text += f", {status['unjudged']:,} could not be (answers that never parsed)"
    others = {k: n for k, n in status.items() if k not in ("judged", "unjudged") and n}
    if others:
        text += ", " + ", ".join(f"{n:,} {k}" for k, n in sorted(others.items()))
    return text


def _score(mean: float | None) -> str:
    return "n/a" if mean is None else f"{mean:.2f}"


def _overall(per_genre: dict[str, Any]) -> float | None:
    """The mean over every judged document; None (shown as n/a) when none was scored."""
    n = sum(v["n"] for v in per_genre.values())
    return sum(v["mean"] * v["n"] for v in per_genre.values()) / n if n else None


def judge_html(section: dict[str, Any] | None) -> str:
    if not section:
        return '<p class="muted">Judging was off for this run.</p>'
    share = section["explicit_reasoning_share"]
    parts = [
        f"<p>Documents with explicit reasoning (reasoning score ≥ {REASONING_MIN}): "
        f"<b>{'n/a' if share is None else f'{share:.1%}'}</b>; "
        f"{escape(status_sentence(section['status']))}.</p>"
    ]
    owned = section.get("first_person_ownership_share")
    if owned is not None:
        parts.append(
            f"<p>First-person documents presenting the value as the speaker's own "
            f"(ownership score ≥ {REASONING_MIN}): <b>{owned:.1%}</b>.</p>"
        )
    genres = sorted(
        {g for c in section["criteria"] for g in section["by_criterion"][c]["per_genre"]}
    )
    head = "".join(f"<th>{escape(c)}</th>" for c in section["criteria"])
    rows = []
    for g in genres:
        cells = []
        for c in section["criteria"]:
            v = section["by_criterion"][c]["per_genre"].get(g)
            cells.append(f'<td class="n">{v["mean"]:.2f} (n={v["n"]})</td>' if v else "<td>–</td>")
        rows.append(f"<tr><td>{escape(g)}</td>{''.join(cells)}</tr>")
    parts.append(f"<table><tr><th>genre (mean score)</th>{head}</tr>{''.join(rows)}</table>")
    for c in section["criteria"]:
        for w in section["by_criterion"][c]["worst"]:
            parts.append(
                f'<div class="doc"><div class="h">lowest {escape(c)}: {w["score"]} · '
                f"{escape(w['genre'])} · {escape(w['id'])} — {escape(w['why'])}</div>"
                f"<pre>{escape(w['text'])}</pre></div>"
            )
    return "".join(parts)
