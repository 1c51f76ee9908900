"""Where everything in a run folder lives, and the one order its shards are read in.

Shard order: by the shard index in the file name (`shard-00012.parquet` is
12), then by name for a file without one. That is the order the clean stage
wrote them in, whatever the manifest or the file system lists first, so every
reader (report, export, judge, mix, inspect) sees the rows in the same order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sdf_corpus.errors import InputError

__all__ = [
    "CARD",
    "CLEAN_STATS",
    "LEDGER",
    "MANIFEST",
    "REJECTED",
    "REJECTED_DIR",
    "REPORT_HTML",
    "REPORT_JSON",
    "RESERVE_DIR",
    "SHARDS_DIR",
    "RunFolder",
    "shard_file_name",
    "shard_paths",
]

LEDGER = "ledger.sqlite"  # the store module opens it; the run folder only names it
SHARDS_DIR = "shards"
REJECTED_DIR = "rejected"
REJECTED = "rejected.jsonl"
RESERVE_DIR = "reserve"  # kept documents beyond the budget (sdf_corpus.budget)
MANIFEST = "manifest.json"
CLEAN_STATS = "clean_stats.json"
REPORT_JSON = "report.json"
REPORT_HTML = "report.html"
CARD = "README.md"

_INDEX = re.compile(r"(\d+)\.parquet$")


def shard_file_name(index: int) -> str:
    return f"shard-{index:05d}.parquet"


def _shard_key(path: Path) -> tuple[int, str]:
    found = _INDEX.search(path.name)
    return (int(found.group(1)) if found else -1, path.name)


def shard_paths(folder: Path) -> list[Path]:
    """`*.parquet` in `folder` in shard order (empty if the folder is missing)."""
    folder = Path(folder)
    return sorted(folder.glob("*.parquet"), key=_shard_key) if folder.is_dir() else []


@dataclass(frozen=True)
class RunFolder:
    """The paths of one run (or `clean --out`, or `mix --out`) folder."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def ledger(self) -> Path:
        return self.root / LEDGER

    @property
    def shards_dir(self) -> Path:
        return self.root / SHARDS_DIR

    @property
    def rejected_dir(self) -> Path:
        return self.root / REJECTED_DIR

    @property
    def reserve_dir(self) -> Path:
        return self.root / RESERVE_DIR

    @property
    def rejected(self) -> Path:
        return self.rejected_dir / REJECTED

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST

    @property
    def clean_stats(self) -> Path:
        return self.root / CLEAN_STATS

    @property
    def report_json(self) -> Path:
        return self.root / REPORT_JSON

    @property
    def report_html(self) -> Path:
        return self.root / REPORT_HTML

    @property
    def card(self) -> Path:
        return self.root / CARD

    def shard(self, name: str) -> Path:
        return self.shards_dir / name

    def shards(self) -> list[Path]:
        """The shard files in shard order; none is not an error here."""
        return shard_paths(self.shards_dir)

    def require_shards(self) -> list[Path]:
        """The shard files in shard order, or a one-line error saying how to make them."""
        shards = self.shards()
        if not shards and self.manifest.is_file():
            raise InputError(
                f"{self.root}: the run kept no documents (see clean_stats.json and rejected/); "
                "nothing to read"
            )
        if not shards:
            raise InputError(
                f"{self.shards_dir}: no Parquet shards found "
                "(run `sdf-corpus build` or `clean` first)"
            )
        return shards
