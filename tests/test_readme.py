"""CI must run exactly the README's test command, and the README's demo command
must build the bundled demo spec."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section, flags=re.DOTALL)


def test_readme_has_exactly_two_setup_commands() -> None:
    demo, tests = _commands()
    assert demo.endswith("sdf-corpus build corpora/demo.yaml")
    assert (REPO / "corpora" / "demo.yaml").is_file()
    assert "pytest" in tests and "constraints.txt" in tests and "constraints.txt" in demo


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    _, tests = _commands()
    ci = (REPO / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == tests
