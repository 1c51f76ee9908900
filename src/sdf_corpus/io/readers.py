"""Reading user files: text, YAML, JSONL (plain or gzip) and Parquet, with one-line errors.

A file is recognised by its first bytes, not its name: a `.jsonl` that is really
a SQLite ledger, a gzip stream or Parquet is named as what it is, so the message
can say what to give instead. Text must be UTF-8 (a byte-order mark is
accepted); a byte that is not names its line. Spec-side files raise SpecError,
data files InputError: callers choose with `error`.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import yaml

from sdf_corpus.errors import InputError, SdfError, SpecError

__all__ = [
    "FileKind",
    "iter_jsonl",
    "open_parquet",
    "read_text",
    "read_yaml",
    "require_file",
    "shown",
    "sniff",
]

FileKind = Literal["parquet", "gzip", "sqlite", "zip", "utf16", "binary", "text"]
ErrorType = type[SpecError] | type[InputError]

_MAGIC: tuple[tuple[bytes, FileKind], ...] = (
    (b"PAR1", "parquet"),
    (b"\x1f\x8b", "gzip"),
    (b"SQLite format 3\x00", "sqlite"),
    (b"PK\x03\x04", "zip"),
    (b"\xff\xfe", "utf16"),  # Windows editors' "Unicode": text, but not UTF-8
    (b"\xfe\xff", "utf16"),
)
_WHAT_IT_IS = {
    "parquet": "a Parquet file",
    "gzip": "gzip-compressed",
    "sqlite": "a SQLite database (a run's ledger.sqlite?)",
    "zip": "a zip archive",
    "utf16": "UTF-16 text",
    "binary": "a binary file, not text",
}


def shown(path: Path) -> str:
    """The path as given, plus the absolute path tried when the two differ."""
    absolute = Path(path).absolute()
    return str(path) if str(absolute) == str(path) else f"{path} (looked for {absolute})"


def sniff(path: Path) -> FileKind:
    """What a file holds, from its first bytes."""
    with Path(path).open("rb") as f:
        head = f.read(4096)
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return "binary" if b"\x00" in head else "text"


def require_file(path: Path, what: str, error: ErrorType = InputError) -> None:
    """Refuse a path that is missing, a folder, or unreadable, naming the path tried."""
    path = Path(path)
    if path.is_dir():
        raise _fail(error, str(path), f"is a folder, not {what}", "give the file itself")
    if not path.exists():
        raise _fail(error, shown(path), f"no such file (expected {what})", "check the path")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise _fail(
            error, str(path), f"cannot be read ({exc.strerror})", "check its permissions"
        ) from None


def read_text(path: Path, what: str, error: ErrorType = SpecError) -> str:
    """A whole UTF-8 text file; anything else is refused with what it is and the fix."""
    require_file(path, what, error)
    kind = sniff(path)
    if kind != "text":
        if kind == "utf16":
            raise _fail(error, str(path), "is UTF-16 text, not UTF-8", "save it as UTF-8")
        raise _fail(error, str(path), f"is {_WHAT_IT_IS[kind]}", f"give {what} as UTF-8 text")
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _fail(
            error,
            f"{path}:{line}",
            f"not UTF-8 text (byte 0x{data[exc.start]:02x})",
            "save the file as UTF-8",
        ) from None


def read_yaml(path: Path, what: str, error: ErrorType = SpecError) -> Any:
    """A YAML file's content; a syntax error names its line."""
    text = read_text(path, what, error)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        where = f"line {mark.line + 1}: {problem}" if mark is not None else str(problem)
        raise _fail(error, str(path), f"not valid YAML: {where}") from None


def iter_jsonl(
    path: Path, what: str = "a JSONL file", *, bare: str | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; gzip is read transparently.

    Every JSONL file sdf-corpus reads comes through here. A line holding a JSON
    value that is not an object is an error, unless `bare` names the field to
    put it in (evaluation files may be a bare string per line: `bare="text"`).
    """
    require_file(path, what)
    kind = sniff(path)
    if kind not in ("text", "gzip"):
        raise InputError(str(path), f"is {_WHAT_IT_IS[kind]}, not JSONL", _instead(kind))
    with _open_bytes(path, gzipped=kind == "gzip") as f:
        n = 0
        try:
            for n, raw in enumerate(f, start=1):
                row = _json_line(path, n, raw, bare)
                if row is not None:
                    yield n, row
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise InputError(
                f"{path}:{n + 1}",
                f"the gzip stream is damaged or cut short ({exc})",
                "re-compress the file or give it uncompressed",
            ) from None


def _open_bytes(path: Path, *, gzipped: bool) -> gzip.GzipFile | io.BufferedReader:
    # the caller's `with` closes it
    return gzip.open(path, "rb") if gzipped else Path(path).open("rb")


def _json_line(path: Path, n: int, raw: bytes, bare: str | None) -> dict[str, Any] | None:
    try:
        line = raw.decode("utf-8-sig" if n == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}:{n}", f"not UTF-8 text (byte 0x{raw[exc.start]:02x})", "save it as UTF-8"
        ) from None
    if not line.strip():
        return None
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}:{n}", f"not valid JSON ({exc.msg})", "fix or remove the line"
        ) from None
    if not isinstance(row, dict) and bare is not None:
        return {bare: row}
    if not isinstance(row, dict):
        raise InputError(
            f"{path}:{n}",
            f"expected a JSON object per line, got {type(row).__name__}",
            'write one {"text": ...} object per line',
        )
    return row


def open_parquet(path: Path, what: str = "a Parquet file") -> Any:
    """A `pyarrow.parquet.ParquetFile`, or a one-line error saying what the file is instead."""
    import pyarrow.parquet as pq  # late: pyarrow costs ~0.3 s to import

    require_file(path, what)
    kind = sniff(path)
    if kind != "parquet":
        raise InputError(str(path), f"is {_describe(kind)}, not Parquet", _instead(kind))
    try:
        return pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for damaged bytes
        raise InputError(
            str(path),
            f"not a readable Parquet file ({exc})",
            "the file may be cut short; write it again",
        ) from None


def _describe(kind: FileKind) -> str:
    return "text (JSONL?)" if kind == "text" else _WHAT_IT_IS[kind]


def _instead(kind: FileKind) -> str:
    if kind == "utf16":
        return "save it as UTF-8"
    if kind == "sqlite":
        return "give the run's shards/*.parquet, or export them with `sdf-corpus export`"
    if kind == "text":
        return "give Parquet here, or name a JSONL file .jsonl"
    return "give JSONL (one object per line, plain or .gz)"


def _fail(error: ErrorType, where: str, problem: str, fix: str = "") -> SdfError:
    return error(where, problem, fix)
