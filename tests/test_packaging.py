"""The built-in libraries must work after a plain (non-editable) install: build
the wheel, install it into a scratch folder, and plan the bundled demo from there."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_wheel_carries_libraries_and_plans_from_them(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(wheels.glob("sdf_corpus-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for member in (
        "sdf_corpus/_library/genres/blog_post.yaml",
        "sdf_corpus/_library/genres/pool/request.yaml",  # the idea pool's request frame
        "sdf_corpus/_library/personas/ai_characters.yaml",
        "sdf_corpus/_library/constitution/example.md",
        "sdf_corpus/_library/rubrics/default.yaml",
        "sdf_corpus/_library/corpora/demo.yaml",
        "sdf_corpus/py.typed",  # PEP 561: type checkers read the package's annotations
    ):
        assert member in names, member
    # Test data is not part of the package.
    assert not [n for n in names if "synth" in n.rsplit("/", 1)[-1]], sorted(names)
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    demo = target / "sdf_corpus" / "_library" / "corpora" / "demo.yaml"
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run(
        [sys.executable, "-c", "import sdf_corpus.library as l; print(l.library_dir('genres'))"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    ).stdout
    assert str(target) in out  # resolved to the packaged copy, not the checkout
    # A type checker run against the installed wheel sees sdf_corpus as typed.
    (tmp_path / "use.py").write_text(
        "from sdf_corpus.errors import SdfError\n\nreveal_type(SdfError.exit_code)\n",
        encoding="utf-8",
    )
    typed = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--strict", "use.py"],
        env={**env, "MYPYPATH": ""},
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    revealed = re.search(r'Revealed type is "(builtins\.)?int"', typed.stdout)
    assert revealed, typed.stdout + typed.stderr
    plan = subprocess.run(
        [sys.executable, "-m", "sdf_corpus", "plan", str(demo), "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    data = json.loads(plan.stdout)
    assert data["library"]["genres_available"] >= 14 and data["principles"] >= 25
