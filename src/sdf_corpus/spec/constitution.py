"""Constitution loader: a markdown (or YAML) constitution becomes a list of principles.

Markdown layout: `# Title`, then `## Section` headings, each holding principles
either as `### Principle title` followed by body paragraphs, or as bullets of
the form `- **Principle title.** body`. A YAML file is a list of mappings with
`title` and `text` (optional `id`, `section`). Ids are slugs of the titles, so
they stay stable when principles are added or reordered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sdf_corpus.errors import SpecError

__all__ = ["Constitution", "Principle", "load_constitution", "slugify"]

_BULLET = re.compile(r"^[-*]\s+\*\*(?P<title>[^*]+?)\*\*[.:]?\s*(?P<body>.*)$")


@dataclass(frozen=True, slots=True)
class Principle:
    id: str
    title: str
    text: str
    section: str


@dataclass(frozen=True, slots=True)
class Constitution:
    title: str
    text: str  # the whole document, sent as the cached shared prefix
    principles: tuple[Principle, ...]
    path: Path

    def by_id(self, principle_id: str) -> Principle:
        for principle in self.principles:
            if principle.id == principle_id:
                return principle
        raise KeyError(principle_id)


def slugify(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", title.casefold()).strip("_")
    return slug[:60] or "principle"


def load_constitution(path: Path) -> Constitution:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(str(path), "constitution file not found", "check the path") from None
    if path.suffix in (".yaml", ".yml"):
        title, principles = path.stem, _from_yaml(path, text)
    else:
        title, principles = _from_markdown(text)
    if not principles:
        raise SpecError(
            str(path),
            "no principles found",
            "write each principle as a '### Title' heading with a body, or a "
            "'- **Title.** text' bullet, under '## Section' headings",
        )
    return Constitution(title or path.stem, text, tuple(_unique_ids(principles)), path)


def _from_markdown(text: str) -> tuple[str, list[Principle]]:
    title, section = "", ""
    principles: list[Principle] = []
    current: tuple[str, list[str]] | None = None

    def close() -> None:
        nonlocal current
        if current is not None:
            body = "\n".join(current[1]).strip()
            if body:
                principles.append(Principle("", current[0], body, section))
        current = None

    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("### "):
            close()
            current = (stripped[4:].strip(), [])
        elif stripped.startswith("## "):
            close()
            section = stripped[3:].strip()
        elif stripped.startswith("# ") and not title:
            close()
            title = stripped[2:].strip()
        elif (bullet := _BULLET.match(stripped)) and current is None:
            principles.append(
                Principle("", bullet["title"].strip(), bullet["body"].strip(), section)
            )
        elif current is not None:
            current[1].append(line)
    close()
    return title, principles


def _from_yaml(path: Path, text: str) -> list[Principle]:
    try:
        raw: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(str(path), f"not valid YAML: {exc}") from None
    if isinstance(raw, dict):
        raw = raw.get("principles")
    if not isinstance(raw, list):
        raise SpecError(str(path), "expected a list of principles (each with title and text)")
    out = []
    for n, item in enumerate(raw, start=1):
        if not isinstance(item, dict) or not item.get("title") or not item.get("text"):
            raise SpecError(str(path), f"principle {n}: needs non-empty 'title' and 'text'")
        out.append(
            Principle(
                str(item.get("id", "")),
                str(item["title"]),
                str(item["text"]).strip(),
                str(item.get("section", "")),
            )
        )
    return out


def _unique_ids(principles: list[Principle]) -> list[Principle]:
    seen: set[str] = set()
    out = []
    for p in principles:
        base = p.id or slugify(p.title)
        pid, n = base, 2
        while pid in seen:
            pid, n = f"{base}_{n}", n + 1
        seen.add(pid)
        out.append(Principle(pid, p.title, p.text, p.section))
    return out
