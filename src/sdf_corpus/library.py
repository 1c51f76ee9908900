"""Where the built-in genre, persona, constitution, rubric and probe libraries live.

In a wheel they are package data under `sdf_corpus/_library/` (pyproject's
force-include copies the top-level folders there); in a source checkout or an
editable install they are the top-level folders of the repository. Either way
`library_dir("genres")` finds them, so `genres: [blog_post]` works after any
kind of install.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["KINDS", "library_dir"]

KINDS = ("genres", "personas", "constitution", "rubrics", "corpora", "probes")

_PACKAGED = Path(__file__).resolve().parent / "_library"
_CHECKOUT = Path(__file__).resolve().parents[2]


def library_dir(kind: str) -> Path:
    if kind not in KINDS:
        raise ValueError(f"unknown library kind {kind!r}")
    packaged = _PACKAGED / kind
    if packaged.is_dir():
        return packaged
    return _CHECKOUT / kind
