"""Turn the run's files and one shard scan into the report's figures (report.json)."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np

from sdf_corpus.budget.bounds import TOTAL_TOLERANCE
from sdf_corpus.report.diversity import distinct_n, repeated_phrases
from sdf_corpus.report.scan import ShardScan
from sdf_corpus.report.sources import EXAMPLE_CHARS, LedgerFacts, RunFiles
from sdf_corpus.report.subject import subject_section
from sdf_corpus.runfolder import iter_rejected
from sdf_corpus.store.reports import SPEND_METRICS

__all__ = ["NAME_SHARE_THRESHOLD", "sections"]

NAME_SHARE_THRESHOLD = 0.03  # a character in more than 3% of documents is over-used


def _share(n: float, total: float) -> float:
    return round(n / total, 6) if total else 0.0


def mix_section(scan: ShardScan, ledger: LedgerFacts | None) -> dict[str, Any]:
    targets = ledger.targets if ledger else {}
    jobs = ledger.jobs_by_genre if ledger else {}
    genres = sorted(set(scan.docs) | set(targets))
    total_target, total_actual = sum(targets.values()), sum(scan.tokens.values())
    rows = []
    for g in genres:
        target, actual = targets.get(g), scan.tokens.get(g, 0)
        rows.append(
            {
                "genre": g,
                "docs": scan.docs.get(g, 0),
                "tokens": actual,
                "share": _share(actual, total_actual),
                "target_tokens": target,
                "target_share": _share(target, total_target) if target is not None else None,
                "relative_error": round((actual - target) / target, 6) if target else None,
                "jobs": jobs.get(g),
            }
        )
    tvd = None
    if targets and total_target:
        # Shares over the union of genres: a genre with no target counts as target share 0.
        diff = sum(
            abs(scan.tokens.get(g, 0) / max(1, total_actual) - targets.get(g, 0) / total_target)
            for g in genres
        )
        tvd = round(0.5 * diff, 6)
    return {
        "genres": rows,
        "total_docs": sum(scan.docs.values()),
        "total_tokens": total_actual,
        "target_tokens": total_target if targets else None,
        "total_variation_distance": tvd,
        "has_targets": bool(targets),
        # Jobs planned but not generated (e.g. a budget raise that was interrupted): the
        # shards cannot meet the target until a build finishes them. The closed budget
        # loop leaves the jobs it did not need pending: only a short corpus waits on them.
        "pending_jobs": sum(j.get("pending", 0) for j in jobs.values())
        if total_actual < total_target * (1 - TOTAL_TOLERANCE)
        else 0,
    }


def coverage_section(scan: ShardScan, ledger: LedgerFacts | None) -> dict[str, Any]:
    known = ledger.principles if ledger else []
    principles = [{"id": p["id"], "title": p.get("title", p["id"])} for p in known]
    seen = {p["id"] for p in principles}
    principles += [{"id": p, "title": p} for p in sorted({p for _, p in scan.cells} - seen)]
    genres = sorted(set(scan.docs) | set(ledger.targets if ledger else {}))
    matrix = [[scan.cells.get((g, p["id"]), 0) for p in principles] for g in genres]
    zero = [
        [g, p["id"]]
        for g, row in zip(genres, matrix, strict=True)
        for p, n in zip(principles, row, strict=True)
        if n == 0
    ]
    return {
        # a clean-only run of text without genres or principles has no matrix to show
        "reported": any(genres) and any(p["id"] for p in principles),
        "genres": genres,
        "principles": principles,
        "docs": matrix,
        "cells": len(genres) * len(principles),
        "zero_cells": zero,
    }


def distribution(
    counts: Mapping[str, int], names: Mapping[str, str], threshold: float, top: int = 20
) -> dict[str, Any]:
    """Top entries, their share, entropy in bits, and which exceed `threshold`.

    An empty key (documents without that field, as in a clean-only run) is not a
    name: it is left out, so it can neither be flagged nor shown as one.
    """
    counts = {k: n for k, n in counts.items() if k}
    total = sum(counts.values())
    probs = [n / total for n in counts.values() if n] if total else []
    # max(): a single name gives -0.0, which would print as "-0.00 bits"
    entropy = max(0.0, -sum(p * math.log2(p) for p in probs))
    rows = [
        {
            "id": k,
            "name": names.get(k, k),
            "docs": n,
            "share": _share(n, total),
            "over_threshold": total > 0 and n / total > threshold,
        }
        for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return {
        "distinct": len(probs),
        "entropy_bits": round(entropy, 4),
        "max_entropy_bits": round(math.log2(len(probs)), 4) if probs else 0.0,
        "top": rows[:top],
        "flagged": [r for r in rows if r["over_threshold"]],
    }


def names_section(
    scan: ShardScan, ledger: LedgerFacts | None, files: RunFiles, threshold: float
) -> dict[str, Any]:
    ai_names = ledger.ai_names if ledger else {}
    # The name quota is about the invented cast: the subject is meant to recur. Runs
    # that record who each document is about count cast documents only.
    people = scan.cast if any(about for _, about in scan.about) else scan.personas
    # Several persona ids could share one name; the name is what a model learns.
    by_name: Counter[str] = Counter()
    for pid, n in people.items():
        if pid:
            by_name[ai_names.get(pid, pid)] += n
    dropped = _filter_drops(files, "excluded_name")
    total = sum(n for pid, n in people.items() if pid)
    note = (
        f"With {total} documents one document is {1 / total:.1%} of the corpus, so shares "
        f"over {threshold:.0%} are expected; the flag means more at larger sizes."
        if total and 1 / total > threshold
        else ""
    )
    return {
        "threshold": threshold,
        "small_corpus_note": note,
        "counts": "cast documents only" if people is scan.cast else "every document",
        "ai_names": distribution(by_name, {}, threshold),
        "personas": distribution(people, ai_names, threshold),
        # Genres without an author persona count as "" and are not a name to flag.
        "authors": distribution(
            {k: v for k, v in scan.authors.items() if k},
            ledger.author_names if ledger else {},
            threshold,
        ),
        "excluded_names": list(ledger.excluded_names if ledger else []),
        "excluded_found": [
            {"name": k, "docs": v, "example_id": scan.excluded_examples[k]}
            for k, v in scan.excluded_hits.most_common()
        ],
        "excluded_dropped_docs": dropped,
        "subject_name_dropped_docs": _filter_drops(files, "subject_name"),
    }


def _filter_drops(files: RunFiles, reason: str) -> int:
    by_stage = (files.clean_stats or {}).get("dropped", {}).get("by_stage", {})
    return int(by_stage.get("filter", {}).get(reason, {}).get("docs", 0))


def lengths_section(scan: ShardScan) -> dict[str, Any]:
    out = {}
    for g in sorted(scan.lengths):
        a = np.frombuffer(scan.lengths[g], dtype=np.int64)
        q10, q25, q50, q75, q90 = (float(x) for x in np.percentile(a, [10, 25, 50, 75, 90]))
        out[g] = {
            "docs": len(a),
            "min": int(a.min()),
            "p10": q10,
            "p25": q25,
            "median": q50,
            "p75": q75,
            "p90": q90,
            "max": int(a.max()),
            "mean": round(float(a.mean()), 1),
        }
    return out


def _drop_examples(files: RunFiles, wanted: set[str]) -> dict[str, dict[str, Any]]:
    """The first rejected document of each stage/reason (stops reading once all are found)."""
    found: dict[str, dict[str, Any]] = {}
    if files.rejected is None:
        return found
    for row in iter_rejected(files.rejected):
        key = f"{row.get('stage')}/{row.get('reason')}"
        if key not in found:
            text = str(row.get("text") or "")
            found[key] = {
                "id": row.get("id"),
                "genre": row.get("genre"),
                "detail": row.get("detail"),
                "duplicate_of": row.get("duplicate_of"),
                "text": text[:EXAMPLE_CHARS],
                "truncated": len(text) > EXAMPLE_CHARS,
            }
        if wanted and wanted <= found.keys():
            break
    return found


def drops_section(files: RunFiles, ledger: LedgerFacts | None) -> dict[str, Any]:
    stats = files.clean_stats or {}
    by_stage = stats.get("dropped", {}).get("by_stage", {})
    keys = {f"{s}/{r}" for s, reasons in by_stage.items() for r in reasons}
    examples = _drop_examples(files, keys)
    rows = [
        {
            "stage": s,
            "reason": r,
            "docs": v.get("docs", 0),
            "tokens": v.get("tokens", 0),
            "example": examples.get(f"{s}/{r}"),
        }
        for s, reasons in sorted(by_stage.items())
        for r, v in sorted(reasons.items())
    ]
    rows.sort(key=lambda r: -r["docs"])
    failed = None
    if ledger is not None:
        n = sum(j.get("failed", 0) for j in ledger.jobs_by_genre.values())
        failed = {"jobs": n, "examples": ledger.failed_examples}
    return {
        "input": stats.get("input"),
        "kept": stats.get("kept"),
        "dropped": {k: v for k, v in stats.get("dropped", {}).items() if k != "by_stage"},
        "reasons": rows,
        "trimmed": stats.get("trimmed", {}),
        "generation_failed": failed,
        "has_clean_stats": files.clean_stats is not None,
    }


def spend_section(ledger: LedgerFacts | None) -> dict[str, Any] | None:
    if ledger is None:
        return None
    metrics = SPEND_METRICS

    def group(key: str) -> list[dict[str, Any]]:
        acc: dict[str, Counter[str]] = {}
        for row in ledger.spend_rows:
            c = acc.setdefault(str(row[key]), Counter())
            for m in metrics:
                c[m] += row[m] or 0
        return [
            {key: k, **{m: float(v[m]) if m == "cost_usd" else int(v[m]) for m in metrics}}
            for k, v in sorted(acc.items())
        ]

    return {
        "totals": ledger.totals,
        "by_stage": group("stage"),
        "by_model": group("model"),
        "by_genre": group("genre"),
        "by_stage_model": by_stage_model(ledger.spend_rows),
        # Documents that stop short of a stage their jobs ran: the same drafts as the
        # build with that stage (rewrite: false after a build with the rewrite).
        "reused_chains": ledger.reused_chains,
        "rows": ledger.spend_rows,
        "note": "by_* tables count successful requests; totals count every attempt",
    }


def by_stage_model(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Requests and spend per (stage, model): where a stage mix (backend.stages) spent."""
    acc: dict[tuple[str, str], Counter[str]] = {}
    for row in rows:
        c = acc.setdefault((str(row["stage"]), str(row["model"])), Counter())
        c["requests"] += row["requests"] or 0
        c["cost_usd"] += row["cost_usd"] or 0
    return [
        {"stage": s, "model": m, "requests": int(c["requests"]), "cost_usd": float(c["cost_usd"])}
        for (s, m), c in sorted(acc.items())
    ]


def diversity_section(scan: ShardScan, files: RunFiles) -> dict[str, Any]:
    texts = scan.diversity_texts
    clusters = (files.clean_stats or {}).get("near_dup_cluster_sizes", {})
    return {
        **distinct_n(texts),
        "openings": scan.openings.result(sum(scan.docs.values())),
        "phrases_6gram": repeated_phrases(texts),
        "near_dup_cluster_sizes": clusters,
        "near_dup_largest_cluster": max((int(k) for k in clusters), default=0),
    }


def _named_samples(scan: ShardScan, ledger: LedgerFacts | None) -> dict[str, Any]:
    names = ledger.ai_names if ledger else {}
    out = scan.samples()
    for docs in out.values():
        for d in docs:
            d["persona_name"] = names.get(d["persona_id"], d["persona_id"])
    return out


def sections(
    files: RunFiles,
    ledger: LedgerFacts | None,
    scan: ShardScan,
    threshold: float = NAME_SHARE_THRESHOLD,
) -> dict[str, Any]:
    limits = scan.limits
    total = sum(scan.docs.values())
    return {
        "version": 1,
        "run": {
            "run_dir": str(files.run_dir),
            "name": ledger.spec_name if ledger else "",
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "has_ledger": ledger is not None,
            "tokenizer": files.manifest.get("tokenizer"),
            "spec_hash": files.manifest.get("spec_hash"),
            "shards": len(files.shards),
            "formats": dict(scan.formats),
        },
        "mix": mix_section(scan, ledger),
        "coverage": coverage_section(scan, ledger),
        "names": names_section(scan, ledger, files, threshold),
        "subject": subject_section(scan, ledger, _filter_drops(files, "subject_name")),
        "lengths": lengths_section(scan),
        "drops": drops_section(files, ledger),
        "spend": spend_section(ledger),
        "diversity": diversity_section(scan, files),
        "samples": _named_samples(scan, ledger),
        "sampling": {
            "documents_scanned": total,
            "diversity_docs": len(scan.diversity_texts),
            "diversity_chars_per_doc": limits.diversity_chars,
            "diversity_method": "every document"
            if total <= limits.diversity_docs
            else f"the ~{limits.diversity_docs:,} documents with the lowest xxh64(id), "
            f"of {total:,}",
            "openings": "first 5 words after any markdown headings, every document",
            "samples_per_genre": limits.samples_per_genre,
            "sample_method": "bottom-k by xxh64(id)",
        },
    }
