"""The layout shows the flow: stages import downwards, never in a circle.

Read from the source with `ast` (imports inside functions count too: a lazy
import is still a dependency), so the test needs nothing installed."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "sdf_corpus"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, name: str, modules: set[str]) -> Iterator[str]:
    """What a module imports at run time: `from pkg import sub` counts the submodule
    (not every sibling of the package), and `if TYPE_CHECKING:` blocks do not count."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for stmt in node.body
        for child in ast.walk(stmt)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            subs = [f"{base}.{alias.name}" for alias in node.names]
            yield from [s for s in subs if s in modules] or [base]


def _graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in (SRC / PACKAGE).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        deps = _imports(path, name, set(paths))
        graph[name] = {dep for dep in deps if dep in paths and dep != name}
    return graph


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return False


def _cycles(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    return sorted(
        (a, b) for a, deps in graph.items() for b in deps if a < b and _reaches(graph, b, a)
    )


def test_no_module_imports_another_that_imports_it_back() -> None:
    assert _cycles(_graph()) == []


@pytest.mark.parametrize(
    ("importer", "forbidden"),
    [
        ("sdf_corpus.plan", "sdf_corpus.generate"),  # the plan is made before anything is sent
        ("sdf_corpus.store", "sdf_corpus.generate"),  # records are core, not a backend's
        ("sdf_corpus.pricing", "sdf_corpus.generate"),  # an estimate sends nothing
        ("sdf_corpus.generate", "sdf_corpus.pipeline"),  # the pipeline calls the stages
    ],
)
def test_stages_do_not_reach_across(importer: str, forbidden: str) -> None:
    graph = _graph()
    offenders = sorted(
        f"{name} -> {dep}"
        for name, deps in graph.items()
        if name == importer or name.startswith(importer + ".")
        for dep in deps
        if dep == forbidden or dep.startswith(forbidden + ".")
    )
    assert offenders == []
