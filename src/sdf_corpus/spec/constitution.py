"""Constitution loader: a markdown (or YAML) constitution becomes a list of principles.

Markdown layout: `# Title`, then `## Section` headings, each holding principles
either as `### Principle title` followed by body paragraphs, or as bullets of
the form `- **Principle title.** body`. A YAML file is either a list of
mappings with `title` and `text` (optional `id`, `section`), or a mapping with
an optional `title` and that list under `principles`. Ids are slugs of the
titles, so they stay stable when principles are added or reordered.

A principle heading with no body is refused, naming its line: it would
otherwise vanish from the plan without a word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sdf_corpus.errors import SpecError
from sdf_corpus.io import read_text, read_yaml, shown

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
    if not path.is_file() and not path.is_dir():
        raise SpecError(shown(path), "constitution file not found", "check the path")
    text = read_text(path, "a constitution")
    is_yaml = path.suffix in (".yaml", ".yml")
    if is_yaml:
        title, principles = _from_yaml(path)
    else:
        title, principles = _from_markdown(path, text)
    if not principles:
        raise SpecError(str(path), "no principles found", _YAML_FORM if is_yaml else _MD_FORM)
    return Constitution(title or path.stem, text, tuple(_unique_ids(principles)), path)


_MD_FORM = (
    "write each principle as a '### Title' heading with a body, or a "
    "'- **Title.** text' bullet, under '## Section' headings"
)
_YAML_FORM = (
    "write a list of principles, each a mapping with 'title' and 'text' (optional 'id', "
    "'section'), or a mapping with 'title' and that list under 'principles'"
)


def _from_markdown(path: Path, text: str) -> tuple[str, list[Principle]]:
    title, section = "", ""
    principles: list[Principle] = []
    current: tuple[str, list[str], int] | None = None  # title, body lines, heading line

    def close() -> None:
        nonlocal current
        if current is not None:
            body = "\n".join(current[1]).strip()
            if not body:
                raise SpecError(
                    f"{path}:{current[2]}",
                    f"principle {current[0]!r} has no text",
                    "write its body under the heading, or remove the heading",
                )
            principles.append(Principle("", current[0], body, section))
        current = None

    for n, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("### "):
            close()
            current = (stripped[4:].strip(), [], n)
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


def _from_yaml(path: Path) -> tuple[str, list[Principle]]:
    raw: Any = read_yaml(path, "a constitution")
    title = ""
    if isinstance(raw, dict):
        unknown = sorted(set(raw) - {"title", "principles"})
        if unknown:
            raise SpecError(
                str(path), f"unknown top-level key(s) {unknown}", "use 'title' and 'principles'"
            )
        title = str(raw.get("title") or "").strip()
        raw = raw.get("principles") or []
    if not isinstance(raw, list):
        raise SpecError(str(path), "field principles: expected a list", _YAML_FORM)
    out = []
    for n, item in enumerate(raw, start=1):
        if not isinstance(item, dict) or not item.get("title") or not item.get("text"):
            raise SpecError(str(path), f"principle {n}: needs non-empty 'title' and 'text'")
        unknown = sorted(set(item) - {"id", "title", "text", "section"})
        if unknown:  # e.g. `body:` for `text:` would otherwise vanish without a word
            raise SpecError(
                str(path),
                f"principle {n}: unknown key(s) {unknown}",
                "use id, title, text, section",
            )
        out.append(
            Principle(
                str(item.get("id", "")),
                str(item["title"]),
                str(item["text"]).strip(),
                str(item.get("section", "")),
            )
        )
    return title, out


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
