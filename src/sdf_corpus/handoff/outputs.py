"""Plumbing every export format shares: its options and result, the rows it reads with a
progress bar, the manifest fields it starts from and the per-file entry, and the error for
an export with nothing in it. `export.py` dispatches to the formats; `hf.py` and
`tokens.py` import from here, not from the dispatcher.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from sdf_corpus.errors import InputError
from sdf_corpus.handoff.records import read_rows
from sdf_corpus.runfolder import RunFolder, sha256_file

__all__ = [
    "ExportOptions",
    "ExportResult",
    "empty_error",
    "export_manifest",
    "file_entry",
    "rows_with_progress",
    "source_summary",
]


@dataclass(frozen=True)
class ExportOptions:
    doc_prefix: str = ""  # text: prepended to every document, its length recorded
    max_example_tokens: int = 65_536  # openai-chat: the providers' per-example limit
    tokenizer: str | None = None  # tokens: tokenizer.json, a tokenizer folder or a GGUF
    seq_len: int = 2048  # tokens: packed sequence length a trainer will read
    progress: bool = True


@dataclass(frozen=True)
class ExportResult:
    path: Path
    manifest: Path
    written: int
    tokens: int
    skipped: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def rows_with_progress(run_dir: Path, progress: bool, fmt: str) -> Iterator[dict[str, Any]]:
    total = source_summary(run_dir).get("documents")
    bar = tqdm(total=total, unit="docs", desc=f"export {fmt}", disable=not progress)
    for row in read_rows(run_dir):
        yield row
        bar.update(1)
    bar.close()


def source_summary(run_dir: Path) -> dict[str, Any]:
    """Which run an export came from: its folder name and its manifest's hash."""
    path = RunFolder(run_dir).manifest
    if not path.is_file():
        return {"run": Path(run_dir).resolve().name}
    raw = path.read_bytes()
    totals = json.loads(raw).get("totals", {})
    return {
        "run": Path(run_dir).resolve().name,
        "manifest_sha256": hashlib.sha256(raw).hexdigest(),
        "documents": totals.get("documents"),
    }


def empty_error(run_dir: Path, fmt: str, skipped: dict[str, int]) -> InputError:
    why = ", ".join(f"{n:,} {reason}" for reason, n in sorted(skipped.items())) or "no rows"
    hint = (
        " (export document-format runs with --format text)" if "document_format" in skipped else ""
    )
    return InputError(
        f"{run_dir}: nothing to export as {fmt}: skipped {why}{hint}; no file written"
    )


def export_manifest(
    fmt: str, run_dir: Path, records: int, tokens: int, options: dict[str, Any]
) -> dict[str, Any]:
    """The fields every export's manifest starts with (no clock: exports are deterministic)."""
    return {
        "format": fmt,
        "source": source_summary(run_dir),
        "records": records,
        "tokens": tokens,
        "options": options,
    }


def file_entry(path: Path, root: Path) -> dict[str, Any]:
    return {
        "file": path.relative_to(root).as_posix(),
        "bytes": path.stat().st_size,
        "sha256": sha256_file(path),
    }
