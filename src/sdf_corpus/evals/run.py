"""`sdf-corpus eval`: run the shipped Inspect tasks on a probe set and write
eval.json and eval.html; `eval compare` sets two of them side by side.

A thin wrapper: Inspect runs the model (any provider it supports, keys from the
environment) and writes its logs under OUT/logs, which `inspect view` opens;
this module reads those logs back and computes the figures (summary.py).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sdf_corpus.errors import EvalError, InputError
from sdf_corpus.evals.reach import check_reachable, offline_token_table
from sdf_corpus.evals.stats import mean_interval
from sdf_corpus.evals.summary import METHODS, summarise
from sdf_corpus.runfolder import read_json_or_empty, write_json_atomic, write_text_atomic

__all__ = ["TASKS", "compare", "default_out", "load_eval", "run_eval"]

TASKS = ("mcq", "attachment", "scenarios")


def default_out(probes: Path, model: str) -> Path:
    return probes / "eval" / re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_")


def _require_inspect() -> None:
    try:
        import inspect_ai  # noqa: F401
    except ImportError:
        raise InputError(
            "inspect-ai is not installed; `sdf-corpus eval` needs it: "
            "pip install 'sdf-corpus[eval]'"
        ) from None


def run_eval(
    probes: Path,
    model: Any,
    out: Path,
    *,
    grader: Any = None,
    tasks: tuple[str, ...] = TASKS,
    limit: int | None = None,
    rubric: Path | None = None,
    max_connections: int | None = None,
    max_tokens: int | None = None,
    connect_grace: float = 15.0,
    progress: bool = False,
) -> dict[str, Any]:
    """Evaluate `model` (an Inspect model name or Model) on the probe set in `probes`.

    A model given by name is first sent one one-token request (reach.py): a server
    that cannot be reached within `connect_grace` seconds, or that refuses the key or
    the model, stops here with one line (exit 5) before any sample runs."""
    _require_inspect()
    offline_token_table()
    from inspect_ai import eval as inspect_eval

    from sdf_corpus.evals import tasks as shipped
    from sdf_corpus.evals.dataset import read_probes
    from sdf_corpus.evals.grading import load_probe_rubric

    manifest = _manifest(probes)
    kinds = {"mcq": "mcq", "attachment": "attachment", "scenarios": "scenario"}
    chosen = [t for t in tasks if read_probes(probes, kinds[t])]
    if not chosen:
        raise InputError(f"{probes}: the probe set holds none of the probes for {list(tasks)}")
    rub = load_probe_rubric(rubric)
    model, grader = _models(model, grader, max_tokens, connect_grace)
    args: dict[str, Any] = {"probes": str(probes)}
    graded = {"rubric": str(rub.path)}
    built = [
        getattr(shipped, t)(**args) if t == "mcq" else getattr(shipped, t)(**args, **graded)
        for t in chosen
    ]
    logs = inspect_eval(
        built,
        model=model,
        model_roles={"grader": grader} if grader is not None else None,
        log_dir=str(out / "logs"),
        limit=limit,
        display=None if progress else "none",  # None: Inspect's own progress display
        max_connections=max_connections,
        max_tokens=max_tokens,
    )
    failed = [log for log in logs if log.status != "success"]
    result = {
        "format": "sdf-corpus eval v1",
        "model": _name(model),
        "grader": _name(grader) if grader is not None else _name(model),
        "probes": {"folder": str(probes), **manifest},
        "rubric": {"path": str(rub.path), "sha256": rub.sha256, "version": rub.version},
        "intervals": METHODS,
        **summarise(logs),
    }
    write_eval(out, result)
    if failed:
        names = ", ".join(f"{log.eval.task} ({log.location})" for log in failed)
        raise EvalError(f"Inspect did not finish: {names}; read the log with `inspect view`")
    return result


def _models(model: Any, grader: Any, max_tokens: int | None, grace: float) -> tuple[Any, Any]:
    """The model and the grader as Inspect models, each named one reached (reach.py)."""
    named = {o: m for o, m in (("--model", model), ("--grader", grader)) if isinstance(m, str)}
    # The grader is a model role of its own: Inspect's eval-wide max_tokens does not
    # reach it, so the cap goes on each model (a base model asked for a two-line grade
    # would otherwise write until its context is full).
    model = _resolve(model, "--model", max_tokens)
    grader = _resolve(grader, "--grader", max_tokens) if grader is not None else None
    check_reachable(named, grace)
    return model, grader


def _resolve(model: Any, option: str, max_tokens: int | None = None) -> Any:
    """The Inspect model for a name, or one line saying what is wrong (an unknown
    provider, a name without one, a missing key) before anything runs."""
    if not isinstance(model, str):
        return model
    from inspect_ai.model import GenerateConfig, get_model

    try:
        # Not memoized: a model Inspect kept from an earlier run in this process
        # would carry that run's base URL and key, not the environment's now.
        return get_model(model, config=GenerateConfig(max_tokens=max_tokens), memoize=False)
    except Exception as exc:  # Inspect raises ValueError, PrerequisiteError and others
        text = re.sub(r"\[/?[a-z ]+\]", "", str(exc))  # Inspect's console markup
        detail = " ".join(line.strip() for line in text.splitlines() if line.strip())
        detail = detail.removeprefix("ERROR: ")
        raise InputError(
            f"{option} {model}: {detail} (an Inspect model name such as "
            "anthropic/claude-haiku-4-5; keys come from the environment)"
        ) from None


def _name(model: Any) -> str:
    """The full Inspect name (provider/model) the user gave: Model.name drops the
    provider, so openai-api/local/m1 would be recorded as local/m1."""
    return str(model)


def _manifest(probes: Path) -> dict[str, Any]:
    path = probes / "manifest.json"
    if not (probes / "probes.jsonl").is_file():
        raise InputError(f"{probes}: no probes.jsonl (give the folder `sdf-corpus probes` wrote)")
    data = read_json_or_empty(path)  # an older probe folder may lack it: no subject then
    digest = hashlib.sha256((probes / "probes.jsonl").read_bytes()).hexdigest()
    return {"probes_sha256": digest, "subject": data.get("subject", {}).get("name", "")}


def write_eval(out: Path, result: dict[str, Any]) -> None:
    from sdf_corpus.evals.html import render_eval

    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "eval.json", result)
    write_text_atomic(out / "eval.html", render_eval(result))


def load_eval(path: Path) -> dict[str, Any]:
    file = path / "eval.json" if path.is_dir() else path
    try:
        data: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            f"{file}: not found (give an eval.json or the folder holding it)"
        ) from None
    except ValueError:
        raise InputError(f"{file}: not valid JSON") from None
    if data.get("format") != "sdf-corpus eval v1":
        raise InputError(f"{file}: not an sdf-corpus eval.json (no format: sdf-corpus eval v1)")
    return data


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """B minus A for every figure, with paired-bootstrap intervals over the probes
    both evaluations share. A different probe set is refused: nothing pairs."""
    if a["probes"]["probes_sha256"] != b["probes"]["probes_sha256"]:
        raise InputError(
            "the two evaluations ran on different probe sets (probes_sha256 differs); "
            "evaluate both models on the same probe folder"
        )
    rows = []
    ta, tb = a["tasks"], b["tasks"]
    if "mcq" in ta and "mcq" in tb:
        rows.append(
            _diff("mcq accuracy", ta["mcq"]["samples"]["correct"], tb["mcq"]["samples"]["correct"])
        )
    if "attachment" in ta and "attachment" in tb:
        pa, pb = ta["attachment"]["samples"]["pairs"], tb["attachment"]["samples"]["pairs"]
        parts: dict[str, Callable[[list[float]], float]] = {
            "third-person alignment": lambda v: v[0],
            "first-person alignment": lambda v: v[1],
            "attachment gap": lambda v: v[0] - v[1],
        }
        for label, f in parts.items():
            rows.append(
                _diff(label, {k: f(v) for k, v in pa.items()}, {k: f(v) for k, v in pb.items()})
            )
    if "scenarios" in ta and "scenarios" in tb:
        rows.append(
            _diff(
                "misaligned-action rate",
                ta["scenarios"]["samples"]["misaligned"],
                tb["scenarios"]["samples"]["misaligned"],
            )
        )
    return {
        "format": "sdf-corpus eval compare v1",
        "a": {"model": a["model"], "folder": a["probes"]["folder"]},
        "b": {"model": b["model"], "folder": b["probes"]["folder"]},
        "intervals": "paired percentile bootstrap over shared probes, 95% (B minus A)",
        "rows": rows,
    }


def _diff(label: str, a: dict[str, float], b: dict[str, float]) -> dict[str, Any]:
    shared = sorted(set(a) & set(b))
    return {
        "figure": label,
        "a": mean_interval([a[k] for k in shared])["mean"],
        "b": mean_interval([b[k] for k in shared])["mean"],
        "difference": mean_interval([b[k] - a[k] for k in shared]),
    }
