"""The run ledger's old import path: the ledger is `sdf_corpus.store.Store`.

Kept as names only (no SQL lives here) so imports written against this path
keep resolving while the generation loop moves to `sdf_corpus.store`.
"""

from __future__ import annotations

from sdf_corpus.store import StageOutput, Totals
from sdf_corpus.store import Store as Ledger

__all__ = ["Ledger", "StageOutput", "Totals"]
