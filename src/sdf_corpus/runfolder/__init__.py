"""The run folder: the one place that knows its layout and how its files are read and written.

    RUN/ledger.sqlite        the store (opened by the store module; named here)
    RUN/shards/shard-NNNNN.parquet
    RUN/rejected/rejected.jsonl
    RUN/clean_stats.json
    RUN/manifest.json        written last: its presence means the folder is complete
    RUN/report.json, report.html, README.md

- `paths`: `RunFolder` (every path above) and the one shard order, by shard index.
- `files`: atomic writes (a file, JSON, a staged folder swapped in) and file digests.
- `rows`: shard rows by columns, streamed by record batch (imports pyarrow, so it
  is imported from its module: `from sdf_corpus.runfolder.rows import iter_rows`).
- `rejected`: writing and reading rejected rows.
- `meta`: manifest.json and clean_stats.json (as a typed `CleanStats`).

Every stage and command reads and writes a run folder through these, so no
other module renames files into place or walks `shards/` itself.
"""

from __future__ import annotations

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
