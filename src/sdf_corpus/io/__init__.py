"""Where user files come in and run folders go out: one reader and one folder check.

Every file a user hands sdf-corpus (spec, constitution, genre, persona and rubric
YAML, JSONL plain or gzip, Parquet) is read through `readers`, and every folder
or file a command will write is checked through `outputs` before any work
starts. Both turn each failure into one line naming the file (and line or
field) and the fix.
"""

from __future__ import annotations

from sdf_corpus.io.outputs import check_output_dir, check_output_file
from sdf_corpus.io.readers import (
    iter_jsonl,
    open_parquet,
    read_text,
    read_yaml,
    require_file,
    shown,
)

__all__ = [
    "check_output_dir",
    "check_output_file",
    "iter_jsonl",
    "open_parquet",
    "read_text",
    "read_yaml",
    "require_file",
    "shown",
]
