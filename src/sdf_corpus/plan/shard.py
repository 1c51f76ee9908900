"""A deterministic slice of a plan: `--shard i/N` and `generate --workers N`.

Job ids are content addresses, so a hash of the id splits any plan into N
disjoint slices that every machine computes alike, without talking to the
others: a job belongs to the same slice whatever order it was planned in,
and raising the budget only adds jobs to slices, never moves one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from sdf_corpus.errors import SpecError

__all__ = ["Shard", "parse_ledger_name", "parse_shard", "shard_ledger_path", "shard_ledgers"]

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
_FILE = re.compile(r"^ledger\.shard-(\d+)-of-(\d+)\.sqlite$")


@dataclass(frozen=True, slots=True)
class Shard:
    """Slice `index` of `count` (0-based, like `$SLURM_ARRAY_TASK_ID`)."""

    index: int
    count: int
    # Worker slices inside a machine's slice hash with a salt: with the same
    # hash, slice 0/2 of a machine would hold only jobs of worker slice 0/2.
    salt: str = ""

    def owns(self, job_id: str) -> bool:
        # A hash of the id rather than the id itself, so the split stays even
        # whatever the id's format.
        digest = hashlib.blake2b((self.salt + job_id).encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") % self.count == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    match = _SPEC.match(text)
    if match is None:
        raise SpecError(
            "--shard",
            f"{text!r} is not INDEX/COUNT",
            "give e.g. --shard 0/4 for the first of 4 slices "
            "(Slurm: --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)",
        )
    index, count = int(match[1]), int(match[2])
    if count < 1 or not 0 <= index < count:
        raise SpecError(
            "--shard",
            f"{text!r}: the index must be 0 to COUNT-1 and COUNT at least 1",
            f"use 0/{max(count, 1)} to {max(count, 1) - 1}/{max(count, 1)}",
        )
    return Shard(index, count)


def shard_ledger_path(run_dir: Path, shard: Shard) -> Path:
    """Where one slice's ledger lives: beside the run's own ledger, so N machines
    on a shared filesystem write N files in one folder and never the same file."""
    return run_dir / f"ledger.shard-{shard.index}-of-{shard.count}.sqlite"


def parse_ledger_name(name: str) -> Shard | None:
    """The slice a `ledger.shard-I-of-N.sqlite` file name stands for, else None."""
    match = _FILE.match(name)
    return Shard(int(match[1]), int(match[2])) if match else None


def shard_ledgers(run_dir: Path) -> list[tuple[Shard, Path]]:
    """The slice ledgers found in a run folder, in slice order."""
    found = []
    for path in run_dir.glob("ledger.shard-*-of-*.sqlite"):
        shard = parse_ledger_name(path.name)
        if shard is not None:
            found.append((shard, path))
    return sorted(found, key=lambda item: (item[0].count, item[0].index))
