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


# After the tests, CI lints, checks formatting and type-checks (pinned in constraints.txt).
CHECKS = [
    ".venv/bin/ruff check src tests benchmarks",
    ".venv/bin/ruff format --check src tests benchmarks",
    ".venv/bin/mypy --strict",
]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    _, tests = _commands()
    ci = (REPO / ".ci" / "run").read_text().strip().splitlines()
    assert ci.count(tests) == 1
    # Nothing but the lint and type checks runs after it, in this order.
    after = [line.split("  #")[0] for line in ci[ci.index(tests) + 1 :] if not line.startswith("#")]
    assert [line.removeprefix("env -u MYPYPATH ") for line in after] == CHECKS


def test_ci_checks_are_pinned_dev_tools() -> None:
    pyproject = (REPO / "pyproject.toml").read_text()
    dev = re.search(r"^dev = \[(.*?)^\]", pyproject, re.DOTALL | re.MULTILINE)
    assert dev
    pins = (REPO / "constraints.txt").read_text().splitlines()
    for tool in ("ruff", "mypy"):
        assert re.search(rf'"{tool}>=[^"]*,<[^"]*"', dev[1]), f"{tool}: no bounded range in dev"
        assert any(re.fullmatch(rf"{tool}==[0-9.]+", pin) for pin in pins), f"{tool}: not pinned"
    assert "strict = true" in pyproject.split("[tool.mypy]", 1)[1]
