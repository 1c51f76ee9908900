"""Checking, before any work, that a command can write where it was told to.

A run that fails on its first write after minutes of work (or after money was
spent) is the worst way to learn that `--out` sits under a file or on a
read-only disk, so every writing command calls `check_output_dir` first. The
check creates nothing that outlives it: it probes the nearest existing folder
with a temporary directory that is removed at once.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from sdf_corpus.errors import InputError

__all__ = ["check_output_dir", "check_output_file"]


def check_output_dir(path: Path, option: str = "--out") -> None:
    """Refuse a folder that cannot be created or written, naming the path and the fix."""
    path = Path(path).absolute()
    fix = f"choose another {option}"
    if path.exists() and not path.is_dir():
        raise InputError(str(path), "is a file, not a folder", fix)
    ancestor = path
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(str(path), f"cannot be created: {ancestor} is a file, not a folder", fix)
    _probe(path if path.exists() else ancestor, path, fix)


def check_output_file(path: Path, option: str = "--out") -> None:
    """Refuse an output file path that is a folder or whose folder cannot be written."""
    path = Path(path).absolute()
    if path.is_dir():
        raise InputError(str(path), "is a folder; give a file path", f"choose another {option}")
    check_output_dir(path.parent, option)


def _probe(folder: Path, target: Path, fix: str) -> None:
    try:
        probe = tempfile.mkdtemp(prefix=".sdf-corpus-write-check-", dir=folder)
    except OSError as exc:
        reason = "read-only file system" if exc.errno == errno.EROFS else exc.strerror
        problem = "cannot be written" if folder == target else f"cannot be created in {folder}"
        raise InputError(str(target), f"{problem}: {reason}", fix) from None
    os.rmdir(probe)
