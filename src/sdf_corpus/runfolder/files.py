"""Atomic writes: a file, a JSON file, and a whole folder staged then swapped in.

A reader (or a crash) must never see half an output. Every file is written
under a hidden temporary name beside its target (same folder, so the final
rename is atomic on POSIX) and renamed over the target only when complete; on
any failure the temporary file is removed and the old target stays as it was.
Folders are built in a staging folder and renamed into place the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from sdf_corpus.runfolder.paths import MANIFEST

__all__ = [
    "AtomicFile",
    "atomic_file",
    "atomic_open",
    "publish",
    "replace_folder",
    "sha256_file",
    "staged_folder",
    "write_json_atomic",
    "write_text_atomic",
]


class AtomicFile:
    """A target path and the temporary path it is written under until `commit()`.

    For writers that stay open across calls (a Parquet writer filling a shard
    row group by row group); one-shot writes use `atomic_file` or the helpers.
    """

    def __init__(self, target: Path) -> None:
        self.target = Path(target)
        # Unique per process, so two processes finishing the same file never share a temp.
        self.tmp = self.target.with_name(f".{self.target.name}.{os.getpid()}.tmp")

    def commit(self) -> Path:
        os.replace(self.tmp, self.target)
        return self.target

    def discard(self) -> None:
        self.tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """Yield a temporary path to write; it replaces `target` only if the block succeeds."""
    file = AtomicFile(target)
    try:
        yield file.tmp
        file.commit()
    finally:
        file.discard()


@contextlib.contextmanager
def atomic_open(target: Path) -> Iterator[IO[str]]:
    """A UTF-8 text handle whose content replaces `target` when the block succeeds."""
    with atomic_file(target) as tmp, tmp.open("w", encoding="utf-8") as handle:
        yield handle


def write_text_atomic(path: Path, text: str) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: Path, data: Any) -> None:
    """Indented UTF-8 JSON with a final newline: the format of every JSON file we write."""
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@contextlib.contextmanager
def staged_folder(parent: Path, prefix: str) -> Iterator[Path]:
    """A fresh hidden folder inside `parent`, removed afterwards whatever happens.

    Whatever the block moved out of it (with `publish` or `replace_folder`) stays.
    """
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{prefix}-staging-", dir=parent))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def replace_folder(staging: Path, target: Path, *, keep_existing: bool = False) -> None:
    """Put a finished folder at `target`, replacing what was there.

    With `keep_existing` (a cache another process may fill at the same time), a
    folder already at `target` wins and the staged one is left for its remover.
    """
    if target.exists() and not keep_existing:
        shutil.rmtree(target)
    try:
        staging.rename(target)
    except OSError:
        if not (keep_existing and target.is_dir()):
            raise


def publish(
    out: Path,
    staging: Path,
    folders: Sequence[str],
    files: Sequence[tuple[str, Any]],
) -> None:
    """Swap staged `folders` into `out`, then write the JSON `files` in order.

    `manifest.json` is removed first and must come last in `files`: its
    presence means the folder is complete. The replaced folders are moved into
    `staging`, which the caller's `staged_folder` removes.
    """
    (out / MANIFEST).unlink(missing_ok=True)
    for name in folders:
        target = out / name
        if target.exists():
            target.rename(staging / f"old-{name}")
        (staging / name).rename(target)
    for name, data in files:
        write_json_atomic(out / name, data)
