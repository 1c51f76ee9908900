"""What the last cut in plan order left open, kept in the ledger's meta.

`reserve.hold_budget` records, after each clean, the genres whose walk found no
document to stop at (`select.Selection.open`), with the spec and the outputs it
was made from. While both are unchanged, a genre not in it is closed: the shards
hold its cut, so the next loop sends nothing for it (a finished build run again
does no work), and `build` runs a fill pass only for the open ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sdf_corpus.spec.load import Corpus
from sdf_corpus.store import Store

__all__ = ["OPEN_KEY", "closed_genres", "open_genres", "open_now", "record_open"]

OPEN_KEY = "budget_open"


def record_open(corpus: Corpus, store: Store, genres: Iterable[str]) -> None:
    made_from = {"spec": corpus.spec_hash(), "outputs": list(store.outputs_fingerprint())}
    store.set_meta(OPEN_KEY, json.dumps({**made_from, "open": sorted(genres)}))


def _recorded(store: Store) -> dict[str, object]:
    found = json.loads(store.get_meta(OPEN_KEY) or "null")
    return found if isinstance(found, dict) else {}


def open_genres(store: Store) -> list[str]:
    """The genres the last cut left open."""
    listed = _recorded(store).get("open", [])
    return [str(g) for g in listed] if isinstance(listed, list) else []


def _current(corpus: Corpus, store: Store) -> bool:
    found = _recorded(store)
    return found.get("spec") == corpus.spec_hash() and found.get("outputs") == list(
        store.outputs_fingerprint()
    )


def closed_genres(corpus: Corpus, store: Store) -> set[str] | None:
    """The genres the last cut closed, if it was made from this spec and these outputs
    (None: a changed spec, say a raised budget, or a job finished since)."""
    return set(corpus.genres) - set(open_genres(store)) if _current(corpus, store) else None


def open_now(corpus: Corpus, store: Store) -> set[str]:
    """The genres the last cut left open, if it was made from this spec and these
    outputs: each needs at least one more document whatever its projection says (all
    its documents fit under the target, none is left to stop at)."""
    return set(open_genres(store)) if _current(corpus, store) else set()
