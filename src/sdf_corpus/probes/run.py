"""`sdf-corpus probes`: a probe set from the corpus's constitution and subject.

Each probe kind is a genre file in the `probes/` library, so probes go through
the corpus engine unchanged: a job per probe in the run ledger (resume, retries,
cost, `--batch`, `--max-cost`, the estimate). The plan is sized by count, not by
tokens: exactly `per_principle[kind]` jobs for every principle, from the probe
set's own seed. The finished jobs are then parsed (records.py) into
`probes.jsonl`, with the replies that did not parse in `failures.jsonl` and
`manifest.json` (counts, seed, prompt fingerprints, sha256 of each file) written
last.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdf_corpus.chain import output_stage_name, parse_output, stages_for
from sdf_corpus.errors import SpecError
from sdf_corpus.generate.runner import GenerateResult, RunOptions
from sdf_corpus.library import library_dir
from sdf_corpus.pipeline import generate, open_ledger
from sdf_corpus.pricing.estimate import Estimate, estimate_cost
from sdf_corpus.probes.config import KINDS
from sdf_corpus.probes.overlap import corpus_overlaps
from sdf_corpus.probes.records import ParseFailure, parse_probe
from sdf_corpus.runfolder import write_json_atomic, write_text_atomic
from sdf_corpus.spec.genres import load_genre
from sdf_corpus.spec.load import Corpus

__all__ = ["ProbeResult", "estimate_probes", "export_probes", "probe_corpus", "run_probes"]

_KIND_OF = {genre: kind for kind, genre in KINDS.items()}


@dataclass
class ProbeResult:
    out_dir: Path
    generate: GenerateResult | None = None
    counts: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    set_aside: int = 0

    @property
    def stopped(self) -> str:
        return self.generate.stopped if self.generate else "complete"


def default_out(corpus: Corpus) -> Path:
    return corpus.run_dir.parent / f"{corpus.spec.name}-probes"


def probe_corpus(corpus: Corpus, out: Path | None = None) -> Corpus:
    """The corpus re-aimed at probes: the probe kinds as its genres, the probe seed,
    the chosen principles, and its own run folder."""
    p = corpus.spec.probes
    kinds = [k for k, n in p.per_principle.items() if n > 0]
    paths = {KINDS[k]: library_dir("probes") / f"{KINDS[k]}.yaml" for k in kinds}
    genres = {name: load_genre(path) for name, path in paths.items()}
    spec = corpus.spec.model_copy(
        update={
            "name": f"{corpus.spec.name}-probes",
            "genres": list(genres),
            "mix": {},
            "genre_overrides": {},
            "seed": p.seed,
            "output": (out or default_out(corpus)).resolve(),
        }
    )
    constitution = corpus.constitution
    if p.principles:
        known = {pr.id for pr in constitution.principles}
        unknown = sorted(set(p.principles) - known)
        if unknown:
            raise SpecError(
                str(corpus.path),
                f"field probes.principles: unknown principle id(s) {unknown}",
                f"use ids from the constitution, e.g. {sorted(known)[:3]}",
            )
        chosen = tuple(pr for pr in constitution.principles if pr.id in set(p.principles))
        constitution = dataclasses.replace(constitution, principles=chosen)
    probes = Corpus(spec, corpus.path, constitution, genres, corpus.personas, paths)
    from sdf_corpus.prompts import check_templates  # late: prompts imports spec.load

    check_templates(probes)
    return probes


def probe_counts(probes: Corpus) -> dict[str, int]:
    per = probes.spec.probes.per_principle
    n = len(probes.constitution.principles)
    return {name: per[_KIND_OF[name]] * n for name in probes.genres}


def estimate_probes(corpus: Corpus, out: Path | None = None) -> tuple[dict[str, int], Estimate]:
    probes = probe_corpus(corpus, out)
    counts = probe_counts(probes)
    return counts, estimate_cost(probes, counts=counts)


def run_probes(
    corpus: Corpus,
    out: Path | None,
    options: RunOptions,
    *,
    batch: bool = False,
    retry_failed: bool = False,
) -> ProbeResult:
    """Generate (resuming) and export the probe set; returns what was written."""
    probes = probe_corpus(corpus, out)
    gen = generate(
        probes, options, batch=batch, retry_failed=retry_failed, counts=probe_counts(probes)
    )
    result = export_probes(probes, corpus)
    result.generate = gen
    return result


def export_probes(probes: Corpus, corpus: Corpus) -> ProbeResult:
    out = probes.run_dir
    rows, failures = _parse_all(probes)
    set_aside = corpus_overlaps(rows, [Path(p) for p in probes.spec.probes.check_corpus], corpus)
    for row, (doc_id, ngram) in set_aside:
        rows.remove(row)
        failures.append(_failure(row, f"shares '{ngram}' with corpus document {doc_id}"))
    out.mkdir(parents=True, exist_ok=True)
    _write_jsonl(out / "probes.jsonl", rows)
    _write_jsonl(out / "failures.jsonl", failures)
    manifest = _manifest(probes, rows, failures, len(set_aside))
    write_json_atomic(out / "manifest.json", manifest)  # last: its presence means complete
    return ProbeResult(out, None, manifest["counts"], manifest["failures"], len(set_aside))


def _parse_all(probes: Corpus) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    subject = probes.spec.subject
    names = [subject.name, *subject.aliases]
    provider = probes.spec.backend.provider
    rows: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    ledger = open_ledger(probes)
    try:
        for job, outputs in ledger.done_jobs():
            genre = probes.genres[job.genre]
            final = outputs[output_stage_name(genre, provider)]
            stage = next(s for s in stages_for(genre, provider) if s.name == final.stage)
            text = parse_output(stage, final.text, job)
            principle = probes.constitution.by_id(job.principle_id)
            base = {
                "id": f"{_KIND_OF[job.genre]}-{job.id[:12]}",
                "kind": _KIND_OF[job.genre],
                "principle_id": principle.id,
                "principle_title": principle.title,
                "principle_text": principle.text,
                "section": principle.section,
                "subject": subject.name,
                "job_id": job.id,
                "model": final.model,
            }
            try:
                rows.append({**base, **parse_probe(base["kind"], text, names)})
            except ParseFailure as exc:
                failures.append({**base, "reason": str(exc), "reply": text[:2000]})
    finally:
        ledger.close()
    return rows, failures


def _failure(row: dict[str, Any], reason: str) -> dict[str, Any]:
    keep = ("id", "kind", "principle_id", "principle_title", "subject", "job_id")
    return {**{k: row[k] for k in keep}, "reason": reason, "reply": json.dumps(row)[:2000]}


def _manifest(
    probes: Corpus, rows: list[dict[str, Any]], failures: list[dict[str, Any]], set_aside: int
) -> dict[str, Any]:
    spec, out = probes.spec, probes.run_dir
    counts = {k: sum(r["kind"] == k for r in rows) for k in map(_KIND_OF.get, probes.genres)}
    by_principle: dict[str, dict[str, int]] = {}
    for r in rows:
        by_principle.setdefault(r["principle_id"], {}).setdefault(r["kind"], 0)
        by_principle[r["principle_id"]][r["kind"]] += 1
    ledger = open_ledger(probes)
    try:
        totals = ledger.totals()
    finally:
        ledger.close()
    return {
        "format": "sdf-corpus probe set v1",
        "corpus": spec.name.removesuffix("-probes"),
        "subject": spec.subject.model_dump(),
        "seed": spec.probes.seed,
        "per_principle": spec.probes.per_principle,
        "principles": [p.id for p in probes.constitution.principles],
        "constitution_sha256": hashlib.sha256(probes.constitution.text.encode()).hexdigest(),
        "prompts": {_KIND_OF[n]: g.fingerprint() for n, g in probes.genres.items()},
        "backend": {"provider": spec.backend.provider, "model": spec.backend.model},
        "counts": counts,
        "by_principle": by_principle,
        "failures": {k: sum(f["kind"] == k for f in failures) for k in counts},
        "set_aside_corpus_overlap": set_aside,
        "jobs": {"planned": totals.jobs, "done": totals.done, "failed": totals.failed},
        "spend_usd": round(totals.cost_usd, 6),
        "files": {name: _file_entry(out / name) for name in ("probes.jsonl", "failures.jsonl")},
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _file_entry(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    return {"sha256": hashlib.sha256(data).hexdigest(), "rows": data.count(b"\n")}


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    write_text_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
