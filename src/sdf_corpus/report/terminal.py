"""The compact terminal summary of a report: a few lines a person reads after a build."""

from __future__ import annotations

from typing import Any

from sdf_corpus.report.judge import judge_lines
from sdf_corpus.report.subject import subject_lines

__all__ = ["NO_POOL", "semantic_lines", "summary"]

NO_POOL = "no idea pool in this run"


def count(n: int, noun: str) -> str:
    """`1 document`, `2 documents`: every count in a summary reads as English."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def pending_note(jobs: int) -> str:
    return (
        f"{count(jobs, 'job')} planned but not generated yet: the shards predate them, "
        "so the target is not met; re-run `sdf-corpus build` to finish"
    )


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.1%}" if x < 0 or x > 0 else "0.0%"


def _mix_lines(mix: dict[str, Any]) -> list[str]:
    head = f"corpus: {count(mix['total_docs'], 'document')}, {count(mix['total_tokens'], 'token')}"
    if mix["has_targets"]:
        head += (
            f" (target {mix['target_tokens']:,}; mix total variation distance "
            f"{mix['total_variation_distance']:.3f})"
        )
    lines = [head]
    if mix.get("pending_jobs"):
        lines.append(f"  ! {pending_note(mix['pending_jobs'])}")
    label = {r["genre"]: r["genre"] or "(no genre)" for r in mix["genres"]}
    width = max((len(v) for v in label.values()), default=5)
    for r in mix["genres"]:
        docs = "doc " if r["docs"] == 1 else "docs"
        line = f"  {label[r['genre']]:<{width}}  {r['docs']:>7,} {docs}  {r['tokens']:>10,} tokens"
        if r["target_tokens"] is not None:
            line += f"  target {r['target_tokens']:>10,}  {_pct(r['relative_error'])}"
        lines.append(line)
    return lines


def _flag_lines(report: dict[str, Any]) -> list[str]:
    names, cov, div = report["names"], report["coverage"], report["diversity"]
    lines = []
    if not cov["reported"]:
        lines.append("coverage: not reported (the documents carry no genre or principle)")
    elif cov["zero_cells"]:
        lines.append(
            f"coverage: {len(cov['zero_cells'])} of {cov['cells']} genre x principle "
            "cells have no documents"
        )
    else:
        lines.append(f"coverage: all {cov['cells']} genre x principle cells have documents")
    ai = names["ai_names"]
    if ai["distinct"]:
        lines.append(
            f"AI names: {ai['distinct']} distinct, entropy {ai['entropy_bits']:.2f} bits "
            f"(max {ai['max_entropy_bits']:.2f})"
        )
    else:
        lines.append("AI names: none recorded (no document carries a persona_id)")
    if ai["flagged"]:
        top = ", ".join(f"{r['name']} {r['share']:.1%}" for r in ai["flagged"][:5])
        more = ", ..." if len(ai["flagged"]) > 5 else ""
        lines.append(
            f"  ! {count(len(ai['flagged']), 'name')} over {names['threshold']:.0%} of "
            f"documents: {top}{more}"
        )
    for r in names["excluded_found"]:
        found = count(r["docs"], "kept document")
        lines.append(f"  ! excluded name {r['name']!r} found in {found}")
    for r in div["openings"]["stock"]:
        lines.append(f"  ! stock opening {r['phrase']!r} starts {count(r['docs'], 'document')}")
    lines.append(
        f"diversity: distinct-1/2/3 {div['distinct_1']:.3f} / {div['distinct_2']:.3f} / "
        f"{div['distinct_3']:.3f} on {count(report['sampling']['diversity_docs'], 'document')}"
    )
    return lines


def _drop_lines(drops: dict[str, Any]) -> list[str]:
    if not drops["has_clean_stats"]:
        return ["drops: no clean_stats.json"]
    d = drops["dropped"]
    lines = [
        f"drops: {count(d.get('docs', 0), 'document')} ({count(d.get('tokens', 0), 'token')}) "
        f"of {drops['input']['docs']:,}"
    ]
    lines += [f"  {r['stage']}/{r['reason']}: {r['docs']:,}" for r in drops["reasons"][:6]]
    failed = drops["generation_failed"]
    if failed and failed["jobs"]:
        lines.append(f"  generation failed: {count(failed['jobs'], 'job')}")
    return lines


def _spend_lines(spend: dict[str, Any] | None) -> list[str]:
    if spend is None:
        return ["spend: no ledger in this run directory (a clean-only run); not reported"]
    t = spend["totals"]
    return [
        f"spend: ${t['cost_usd']:.4f} over {count(t['requests'], 'request')}; "
        f"{t['input_tokens']:,} in / {t['output_tokens']:,} out tokens; cache read "
        f"{t['cache_read_tokens']:,} / write {t['cache_write_tokens']:,}",
        *_stage_model_lines(spend.get("by_stage_model") or []),
        *_reuse_lines(spend.get("reused_chains") or []),
    ]


def _reuse_lines(rows: list[dict[str, Any]]) -> list[str]:
    return [
        f"  {r['genre']}: {count(r['documents'], 'document')} without the {r['left_out']} "
        f"stage are the very drafts a build with {r['left_out']} used (nothing re-sent)"
        for r in rows
    ]


def _stage_model_lines(rows: list[dict[str, Any]]) -> list[str]:
    """Spend per stage and model, shown when stages ran on more than one model."""
    if len({r["model"] for r in rows}) < 2:
        return []
    return [
        f"  {r['stage']} on {r['model']}: ${r['cost_usd']:.4f} over "
        f"{count(r['requests'], 'request')}"
        for r in rows
    ]


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def semantic_lines(sec: dict[str, Any] | None) -> list[str]:
    if not sec:
        return []
    head = (
        f"meaning: {count(sec['sample']['docs'], 'document')} embedded; clusters at cosine >= "
        f"{sec['threshold']:.2f} in a genre"
    )
    lines = [head]
    for r in sec["by_genre"]:
        nn = r["nearest_neighbour"] or {}
        sampled = count(r["sampled"], "sampled document")
        clusters = (
            f"{count(r['clusters'], 'cluster')} hold {r['cluster_share']:.1%} of {sampled} "
            f"(largest {r['largest_cluster']})"
            if r["clusters"]
            else f"no near-duplicates among {sampled}"
        )
        lines.append(
            f"  {r['genre'] or '(no genre)'}: {clusters}; Vendi {_num(r['vendi_score'], 1)}; "
            f"nearest-neighbour cosine median {_num(nn.get('median'))}"
        )
    removed = sec["removed_by_clean"]
    if removed["dropped"]:
        lines.append(
            f"  clean dropped {count(removed['dropped'], 'semantic duplicate')} of "
            f"{count(removed['documents_repeated'], 'kept document')}"
        )
    pool = sec["idea_pool"]
    if pool["present"]:
        t = pool["total"]
        lines.append(
            f"idea pool: {t['asked']:,} ideas asked for, {t['kept']:,} kept, "
            f"{t['dropped_too_close']:,} dropped as too close"
        )
    else:
        lines.append(f"idea pool: {NO_POOL}")
    return lines


def summary(report: dict[str, Any]) -> str:
    lines = _mix_lines(report["mix"])
    if not report["mix"]["has_targets"]:
        lines.append("  (no ledger: targets unknown, mix error not reported)")
    lines += _flag_lines(report) + semantic_lines(report.get("semantic"))
    lines += _drop_lines(report["drops"]) + _spend_lines(report["spend"])
    lines += subject_lines(report.get("subject")) + judge_lines(report.get("judge"))
    return "\n".join(lines)
