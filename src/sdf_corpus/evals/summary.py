"""Inspect logs -> eval.json: accuracy, alignment, the attachment gap, the
misaligned-action rate, each with its 95% interval, overall and per principle.

Only samples are read, never Inspect's own metrics, so unscored grades are left
out by construction and every figure can be recomputed from the log. The
per-sample values are kept in eval.json too, so `eval compare` pairs two
models probe by probe without the logs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sdf_corpus.evals.stats import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, mean_interval, wilson

__all__ = ["METHODS", "summarise"]

METHODS = {
    "proportions": "Wilson score interval, 95%",
    "means_and_gaps": f"percentile bootstrap over probes (pairs for the gap), 95%, "
    f"{BOOTSTRAP_RESAMPLES:,} resamples, seed {BOOTSTRAP_SEED}",
}


def _value(sample: Any) -> tuple[Any, dict[str, Any]]:
    score = next(iter((sample.scores or {}).values()), None)
    if score is None:
        return None, {}
    return score.value, dict(score.metadata or {})


def mcq_summary(samples: Iterable[Any]) -> dict[str, Any]:
    values: dict[str, int] = {}
    principle: dict[str, str] = {}
    for s in samples:
        value, _ = _value(s)
        if value in ("C", "I"):
            values[str(s.id)] = int(value == "C")
            principle[str(s.id)] = s.metadata.get("principle_id", "")
    by_p: dict[str, list[int]] = defaultdict(list)
    for sid, v in values.items():
        by_p[principle[sid]].append(v)
    return {
        "accuracy": wilson(sum(values.values()), len(values)),
        "by_principle": {p: wilson(sum(v), len(v)) for p, v in sorted(by_p.items())},
        "samples": {"correct": values, "principle": principle},
    }


def attachment_summary(samples: Iterable[Any]) -> dict[str, Any]:
    pairs: dict[str, dict[str, float]] = defaultdict(dict)
    principle: dict[str, str] = {}
    unscored = 0
    for s in samples:
        value, _ = _value(s)
        pair, person = s.metadata["pair_id"], s.metadata["person"]
        principle[pair] = s.metadata.get("principle_id", "")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            pairs[pair][person] = float(value)
        else:
            unscored += 1
    complete = {p: v for p, v in pairs.items() if "third" in v and "first" in v}
    overall = _attachment_block(complete.values())
    by_p: dict[str, list[dict[str, float]]] = defaultdict(list)
    for pair, v in complete.items():
        by_p[principle[pair]].append(v)
    return {
        **overall,
        "pairs_scored": len(complete),
        "unscored_answers": unscored,
        "by_principle": {p: _attachment_block(v) for p, v in sorted(by_p.items())},
        "samples": {
            "pairs": {p: [v["third"], v["first"]] for p, v in complete.items()},
            "principle": principle,
        },
    }


def _attachment_block(pairs: Iterable[dict[str, float]]) -> dict[str, Any]:
    pairs = list(pairs)
    return {
        "third_person": mean_interval([p["third"] for p in pairs]),
        "first_person": mean_interval([p["first"] for p in pairs]),
        "gap": mean_interval([p["third"] - p["first"] for p in pairs]),
    }


def scenario_summary(samples: Iterable[Any]) -> dict[str, Any]:
    values: dict[str, int] = {}
    principle: dict[str, str] = {}
    actions: dict[str, str] = {}
    unscored = 0
    for s in samples:
        value, meta = _value(s)
        principle[str(s.id)] = s.metadata.get("principle_id", "")
        if value in (0, 1) and not isinstance(value, str):
            values[str(s.id)] = int(value)
            if value == 1:
                actions[str(s.id)] = str(meta.get("action", ""))
        else:
            unscored += 1
    by_p: dict[str, list[int]] = defaultdict(list)
    for sid, v in values.items():
        by_p[principle[sid]].append(v)
    return {
        "misaligned_rate": wilson(sum(values.values()), len(values)),
        "unscored": unscored,
        "by_principle": {p: wilson(sum(v), len(v)) for p, v in sorted(by_p.items())},
        "misaligned_actions": actions,
        "samples": {"misaligned": values, "principle": principle},
    }


_SUMMARIES = {"mcq": mcq_summary, "attachment": attachment_summary, "scenarios": scenario_summary}


def summarise(logs: Iterable[Any]) -> dict[str, Any]:
    """One block per task found in `logs` (Inspect EvalLog objects with samples)."""
    out: dict[str, Any] = {"tasks": {}}
    for log in logs:
        name = log.eval.task.split("/")[-1]
        block = _SUMMARIES[name](log.samples or [])
        block["log"] = log.location
        block["status"] = log.status
        block["samples_run"] = len(log.samples or [])
        out["tasks"][name] = block
    return out
