"""The batch tables' old import path: they live in `sdf_corpus.store.batches`.

Kept as names only (no SQL lives here) so imports written against this path
keep resolving while the batch submitter moves to `sdf_corpus.store`.
"""

from __future__ import annotations

from sdf_corpus.store.batches import BatchBook, BatchRow, RequestRow

__all__ = ["BatchBook", "BatchRow", "RequestRow"]
