"""Rejected rows: every dropped document, one JSON line each, with why it was dropped.

One file, `rejected/rejected.jsonl`, holds the drops of every stage (the clean
stage writes it whole; the judge appends its drops by copying it, extending it
and swapping it in), so there is one place to inspect what was left out.
A row is the document's JSONL row (nested values as plain JSON) after
`reason`, `stage`, `detail` (its JSON text, or null) and `duplicate_of`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sdf_corpus.io.readers import iter_jsonl
from sdf_corpus.runfolder.files import AtomicFile
from sdf_corpus.runfolder.paths import REJECTED

if TYPE_CHECKING:
    from sdf_corpus.document import Document

__all__ = ["RejectWriter", "document_row", "iter_rejected", "rejected_row"]


def document_row(doc: Document, native: bool = True) -> dict[str, Any]:
    """A document as a row: shard row (native) or JSONL row; its metadata as extra columns."""
    row = doc.to_row() if native else doc.to_json_row()
    for key, value in doc.metadata.items():
        row.setdefault(key, value)  # extras never shadow our own columns
    return row


def rejected_row(
    row: dict[str, Any],
    stage: str,
    reason: str,
    detail: Any = None,
    duplicate_of: str | None = None,
) -> dict[str, Any]:
    """The rejected/ line for a document's JSONL row."""
    return {
        "reason": reason,
        "stage": stage,
        "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True)
        if detail is not None
        else None,
        "duplicate_of": duplicate_of,
        **row,
    }


class RejectWriter:
    """Writes rejected rows to `rejected.jsonl` in `directory`, atomically.

    With `keep_existing`, the rows already in the file come first (the judge
    adds its drops to the clean stage's). Nothing reaches the target until
    `close()`; `abort()` leaves the old file as it was.
    """

    def __init__(self, directory: Path, *, keep_existing: bool = False) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / REJECTED
        self._file = AtomicFile(self.path)
        self._f: IO[str] | None = self._file.tmp.open("w", encoding="utf-8")
        if keep_existing and self.path.is_file():
            try:
                with self.path.open(encoding="utf-8") as previous:
                    self._f.writelines(previous)
            except BaseException:
                self.abort()
                raise

    def write(
        self,
        doc: Document,
        stage: str,
        reason: str,
        detail: Any = None,
        duplicate_of: str | None = None,
    ) -> None:
        self.write_row(
            rejected_row(document_row(doc, native=False), stage, reason, detail, duplicate_of)
        )

    def write_row(self, row: dict[str, Any]) -> None:
        """A row already in rejected/ form (see `rejected_row`)."""
        assert self._f is not None, "write after close"
        self._f.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")

    def close(self) -> None:
        if self._f is None:
            return
        self._f.close()
        self._f = None
        self._file.commit()

    def abort(self) -> None:
        """Drop what was written; the target keeps its old content (no-op after close)."""
        if self._f is None:
            return
        self._f.close()
        self._f = None
        self._file.discard()


def iter_rejected(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of a rejected.jsonl, in the order they were written."""
    for _, row in iter_jsonl(path, "a rejected.jsonl"):
        yield row
