"""`inspect eval sdf_corpus/<task>` finds the shipped tasks through the package's
entry point: build the wheel, install it into a scratch folder, and run Inspect's
own CLI on a probe set with its mock model."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from inspect_ai.log import read_eval_log

from .conftest import write_probe_set

REPO = Path(__file__).resolve().parents[2]

# Inspect's own CLI, unpatched: the mock model's token table is found offline because
# importing the tasks points tiktoken at the copy litellm ships (evals/reach.py).
_INSPECT = "import sys; from inspect_ai._cli.main import main; sys.argv[0] = 'inspect'; main()"


def test_inspect_eval_finds_the_tasks_by_entry_point(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(REPO)],
        check=True,
        capture_output=True,
    )
    wheel = next(wheels.glob("sdf_corpus-*.whl"))
    archive = zipfile.ZipFile(wheel)
    names = set(archive.namelist())
    for member in (
        "sdf_corpus/_library/probes/mcq.yaml",
        "sdf_corpus/_library/probes/attachment_pair.yaml",
        "sdf_corpus/_library/probes/agentic_scenario.yaml",
        "sdf_corpus/_library/rubrics/probe_grader.yaml",
    ):
        assert member in names, member
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "[inspect_ai]" in archive.read(entry_points).decode()
    site = tmp_path / "site-packages"  # Inspect namespaces tasks of installed packages only
    subprocess.run(
        [*pip, "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    probes = write_probe_set(tmp_path / "probes", pairs=2, mcq=2, scenarios=1)
    logs = tmp_path / "logs"
    env = {**os.environ, "PYTHONPATH": str(site)}  # the installed wheel, not the checkout
    args = ["eval", "sdf_corpus/mcq", "--model", "mockllm/model", "-T", f"probes={probes}"]
    run = subprocess.run(
        [sys.executable, "-c", _INSPECT, *args, "--log-dir", str(logs), "--display", "none"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    (log_file,) = logs.glob("*.eval")
    log = read_eval_log(str(log_file))  # what `inspect view` opens
    assert log.status == "success" and log.eval.task == "sdf_corpus/mcq"
    assert len(log.samples or []) == 4 and log.results is not None
