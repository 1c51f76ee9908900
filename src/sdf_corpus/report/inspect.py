"""Read documents of a run in the terminal: kept ones by genre/principle/persona, or rejects.

Streams shards (or rejected.jsonl) and stops after `n` matches, so looking at
a few documents of a 500k-document run costs a few row groups.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sdf_corpus.errors import InputError
from sdf_corpus.io import shown as shown_path
from sdf_corpus.report.sources import LedgerFacts, read_ledger
from sdf_corpus.runfolder import RunFolder, iter_rejected, read_json_or_empty
from sdf_corpus.runfolder.rows import iter_rows
from sdf_corpus.spec.constitution import slugify

__all__ = ["InspectQuery", "format_document", "inspect_run"]

_COLUMNS = ("id", "text", "genre", "format", "messages", "principle_id", "persona_id", "n_tokens")


@dataclass(frozen=True)
class InspectQuery:
    genre: str | None = None
    principle: str | None = None
    persona: str | None = None  # persona id or AI name, case-insensitive
    rejected: str | None = None  # a drop reason, or "all"
    n: int = 5
    ids: tuple[str, ...] = ()  # only these documents (the ids `--similar` lists)

    def matches(self, row: dict[str, Any], names: dict[str, str]) -> bool:
        if self.ids and row.get("id") not in self.ids:
            return False
        if self.genre and row.get("genre") != self.genre:
            return False
        if self.principle and row.get("principle_id") != self.principle:
            return False
        if self.persona:
            pid = str(row.get("persona_id") or "")
            wanted = self.persona.casefold()
            if wanted not in (pid.casefold(), names.get(pid, pid).casefold()):
                return False
        if self.rejected and self.rejected != "all":
            return bool(row.get("reason") == self.rejected)
        return True


def _wrap(text: str, width: int, indent: str = "") -> str:
    paragraphs = text.split("\n")
    return "\n".join(
        textwrap.fill(p, width, initial_indent=indent, subsequent_indent=indent)
        if p.strip()
        else ""
        for p in paragraphs
    )


def _messages(row: dict[str, Any]) -> list[dict[str, Any]] | None:
    raw = row.get("messages")
    if not raw or row.get("format") != "chat":
        return None
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, list) else None


def format_document(row: dict[str, Any], names: dict[str, str], width: int = 100) -> str:
    """A header line (id, genre, principle, persona name, tokens) and the wrapped text;
    chat documents as role-labelled turns."""
    pid = str(row.get("persona_id") or "")
    persona = f"{names[pid]} ({pid})" if pid in names else pid or "-"
    header = (
        f"== {row.get('id')} | {row.get('genre') or '-'} | "
        f"{row.get('principle_id') or '-'} | {persona} | {row.get('n_tokens') or 0} tokens"
    )
    lines = [header]
    if "reason" in row:
        lines.append(
            f"   rejected at {row.get('stage')}: {row.get('reason')}"
            + (f" {row['detail']}" if row.get("detail") else "")
            + (f" (duplicate of {row['duplicate_of']})" if row.get("duplicate_of") else "")
        )
    messages = _messages(row)
    if messages:
        for m in messages:
            lines.append(f"[{str(m.get('role', '?')).upper()}]")
            lines.append(_wrap(str(m.get("content", "")), width, "    "))
    else:
        lines.append(_wrap(str(row.get("text") or ""), width))
    return "\n".join(lines) + "\n"


def _candidates(run_dir: Path, query: InspectQuery) -> Iterator[dict[str, Any]]:
    run = RunFolder(run_dir)
    if query.rejected:
        if not run.rejected.is_file():
            raise InputError(f"{run_dir}: no rejected/rejected.jsonl (run the clean stage first)")
        yield from iter_rejected(run.rejected)
        return
    paths = run.shards()
    if not paths:
        raise InputError(
            f"{run_dir}: no shards in {run_dir / 'shards'} "
            "(run `sdf-corpus build` or `sdf-corpus clean` first)"
        )
    yield from iter_rows(paths, _COLUMNS)


def resolve_query(run_dir: Path, query: InspectQuery, ledger: LedgerFacts | None) -> InspectQuery:
    """Check --genre/--principle/--rejected against what the run holds; a principle may be
    given by id or title. An unknown value lists the valid ones instead of matching nothing."""
    run = RunFolder(run_dir)
    manifest = read_json_or_empty(run.manifest)  # a missing one just offers no names
    genres = set(manifest.get("by_genre", {})) | set(ledger.targets if ledger else {})
    titles = {p["id"]: str(p.get("title", p["id"])) for p in (ledger.principles if ledger else [])}
    titles.update({pid: titles.get(pid, pid) for pid in manifest.get("by_principle", {})})
    if query.genre and query.genre not in genres:
        _unknown("--genre", query.genre, run_dir, sorted(genres))
    if query.principle and query.principle not in titles:
        wanted = query.principle.strip().casefold()
        match = [pid for pid, title in titles.items() if title.casefold() == wanted]
        match += [pid for pid in titles if pid == slugify(query.principle)]  # ids are slugs
        if not match:
            _unknown("--principle", query.principle, run_dir, sorted(titles))
        query = replace(query, principle=match[0])
    if query.rejected and query.rejected != "all":
        stages = read_json_or_empty(run.clean_stats).get("dropped", {}).get("by_stage", {})
        reasons = {r for by_reason in stages.values() for r in by_reason}
        if reasons and query.rejected not in reasons:
            _unknown("--rejected", query.rejected, run_dir, ["all", *sorted(reasons)])
    return query


_WHAT = {"--genre": "genre", "--principle": "principle", "--rejected": "drop reason"}


def _unknown(option: str, value: str, run_dir: Path, valid: list[str]) -> None:
    what = _WHAT[option]
    if not valid:
        raise InputError(option, f"the documents in {run_dir} carry no {what}", f"drop {option}")
    raise InputError(
        option,
        f"{value!r} is not a {what} in {run_dir}",
        ("use an id or title, one of: " if what == "principle" else "use one of: ")
        + ", ".join(valid),
    )


def inspect_run(run_dir: Path, query: InspectQuery, width: int | None = None) -> Iterator[str]:
    """Formatted matching documents, at most `query.n` of them."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(
            shown_path(run_dir), "no such run directory", "give the folder a build wrote"
        )
    ledger = read_ledger(run_dir)
    names = ledger.ai_names if ledger else {}
    query = resolve_query(run_dir, query, ledger)
    width = width or min(100, shutil.get_terminal_size((100, 24)).columns)
    shown = 0
    for row in _candidates(run_dir, query):
        if shown >= query.n:
            return
        if query.matches(row, names):
            shown += 1
            yield format_document(row, names, width)
