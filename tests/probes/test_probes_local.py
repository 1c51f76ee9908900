"""`sdf-corpus probes corpora/demo.yaml` offline on the bundled local base model: the
plumbing runs end to end, and replies a 270M base model cannot make into probes are
recorded as failures, never repaired."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sdf_corpus.cli import main

pytest.importorskip("llama_cpp", reason="the local extra is not installed: pip install '.[local]'")

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_probes_run_offline_on_the_local_model(tmp_path: Path) -> None:
    out = tmp_path / "probes"
    args = ["probes", str(REPO / "corpora" / "demo.yaml"), "--out", str(out), "--no-progress"]
    args += ["--set", "probes.principles=[never_create_false_impressions]"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["jobs"] == {"planned": 3, "done": 3, "failed": 0}
    assert manifest["backend"]["provider"] == "local" and manifest["spend_usd"] == 0
    rows = (out / "probes.jsonl").read_text().splitlines()
    failures = [json.loads(line) for line in (out / "failures.jsonl").read_text().splitlines()]
    assert len(rows) + len(failures) == 3
    assert all(f["reason"] and f["reply"] for f in failures)
    assert sum(manifest["failures"].values()) == len(failures)
