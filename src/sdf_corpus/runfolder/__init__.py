"""The run folder: the one place that knows its layout and how its files are read and written.

    RUN/ledger.sqlite        the store (opened by the store module; named here)
    RUN/shards/shard-NNNNN.parquet
    RUN/rejected/rejected.jsonl
    RUN/reserve/reserve-NNNNN.parquet   kept beyond the budget; a larger one takes it first
    RUN/clean_stats.json
    RUN/manifest.json        written last: its presence means the folder is complete
    RUN/report.json, report.html, README.md

- `paths`: `RunFolder` (every path above) and the one shard order, by shard index.
- `files`: atomic writes (a file, JSON, a staged folder swapped in) and file digests.
- `rows`: shard rows by columns, streamed by record batch. It imports pyarrow
  (~0.3 s), so it loads on first use: `runfolder.iter_rows` works, and code
  inside sdf-corpus imports `sdf_corpus.runfolder.rows` for its types.
- `rejected`: writing and reading rejected rows.
- `reserve`: moving kept documents beyond the budget out of the shards.
- `meta`: manifest.json and clean_stats.json (as a typed `CleanStats`).

Every stage and command reads and writes a run folder through these, so no
other module renames files into place or walks `shards/` itself.
"""

from __future__ import annotations

import importlib
from typing import Any

from sdf_corpus.runfolder.files import (
    AtomicFile,
    atomic_file,
    atomic_open,
    publish,
    replace_folder,
    sha256_file,
    staged_folder,
    write_json_atomic,
    write_text_atomic,
)
from sdf_corpus.runfolder.meta import (
    read_clean_stats,
    read_json,
    read_json_or_empty,
    read_manifest,
    write_clean_stats,
    write_manifest,
)
from sdf_corpus.runfolder.paths import LEDGER, RunFolder, shard_file_name, shard_paths
from sdf_corpus.runfolder.rejected import RejectWriter, document_row, iter_rejected, rejected_row

_ROWS = (
    "check_current",
    "iter_batches",
    "iter_parquet_rows",
    "iter_rows",
    "read_schema",
    "read_shard",
)

__all__ = [
    "LEDGER",
    "AtomicFile",
    "RejectWriter",
    "RunFolder",
    "atomic_file",
    "atomic_open",
    "document_row",
    "iter_rejected",
    "publish",
    "read_clean_stats",
    "read_json",
    "read_json_or_empty",
    "read_manifest",
    "rejected_row",
    "replace_folder",
    "sha256_file",
    "shard_file_name",
    "shard_paths",
    "staged_folder",
    "write_clean_stats",
    "write_json_atomic",
    "write_manifest",
    "write_text_atomic",
]


def __getattr__(name: str) -> Any:
    # Row reading needs pyarrow: loaded when first asked for, not by `import runfolder`.
    if name in _ROWS:
        return getattr(importlib.import_module("sdf_corpus.runfolder.rows"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
