"""The idea pool's own figures, per cell: ideas asked for, kept, dropped as too close.

The pool lives in the ledger and is read through the store (`store/reports.py`);
this module only shapes what the store returns. A run without a pool (a `clean`
of external text, a run built before the pool, a run with `ideas.pool` off, a
ledger without the pool's table) gives empty figures, and the report says
"no idea pool in this run".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["IdeaPoolFigures", "PoolCell", "pool_from_rows"]


@dataclass(frozen=True)
class PoolCell:
    """One cell's pool: ideas the pool's list requests asked for, ideas it kept, and
    ideas it dropped because they were too close to (or the same as) one it held."""

    asked: int = 0
    kept: int = 0
    dropped_too_close: int = 0

    def __add__(self, other: PoolCell) -> PoolCell:
        return PoolCell(
            self.asked + other.asked,
            self.kept + other.kept,
            self.dropped_too_close + other.dropped_too_close,
        )


@dataclass(frozen=True)
class IdeaPoolFigures:
    """Cell (genre, principle id) -> its pool's figures; empty when the run has no pool."""

    cells: Mapping[tuple[str, str], PoolCell] = field(default_factory=dict)

    @property
    def present(self) -> bool:
        return bool(self.cells)

    def by_genre(self) -> dict[str, PoolCell]:
        out: dict[str, PoolCell] = {}
        for (genre, _), cell in sorted(self.cells.items()):
            out[genre] = out.get(genre, PoolCell()) + cell
        return out

    def total(self) -> PoolCell:
        return sum(self.cells.values(), PoolCell())

    def genre_row(self, genre: str) -> dict[str, Any] | None:
        """A genre's figures for the meaning tables (None: no pool served this genre)."""
        cell = self.by_genre().get(genre)
        return row(cell) if cell else None

    def cell_row(self, genre: str, principle_id: str) -> dict[str, Any] | None:
        cell = self.cells.get((genre, principle_id))
        return row(cell) if cell else None

    def to_json(self) -> dict[str, Any]:
        return {
            "present": self.present,
            "total": row(self.total()),
            "by_genre": [{"genre": g, **row(c)} for g, c in self.by_genre().items()],
            "by_cell": [
                {"genre": g, "principle_id": p, **row(c)}
                for (g, p), c in sorted(self.cells.items())
            ],
        }


def row(cell: PoolCell) -> dict[str, Any]:
    return {
        "asked": cell.asked,
        "kept": cell.kept,
        "dropped_too_close": cell.dropped_too_close,
        "kept_share": round(cell.kept / cell.asked, 4) if cell.asked else None,
    }


def _count(row: Mapping[str, Any], key: str) -> int:
    value = row.get(key)
    return int(value) if isinstance(value, int | float) else 0


def pool_from_rows(rows: Iterable[Mapping[str, Any]]) -> IdeaPoolFigures:
    """Figures from the store's rows (genre, principle_id, asked, kept, dropped_too_close).

    A cell the pool splits further (by subject or cast) comes as several rows with the
    same genre and principle; they are summed, since the report's cell is genre x
    principle. A row without a genre is not a cell and is skipped.
    """
    cells: dict[tuple[str, str], PoolCell] = {}
    for row in rows:
        genre = str(row.get("genre") or "")
        if not genre:
            continue
        key = (genre, str(row.get("principle_id") or ""))
        cell = PoolCell(_count(row, "asked"), _count(row, "kept"), _count(row, "dropped_too_close"))
        cells[key] = cells.get(key, PoolCell()) + cell
    return IdeaPoolFigures(cells)
