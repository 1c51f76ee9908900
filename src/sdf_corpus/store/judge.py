"""Judgements in the run ledger: one row per (document, rubric version).

Keyed by the rubric's hash, so a changed rubric judges again rather than mixing
versions, and a resumed build never re-judges a document it has judged.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from sdf_corpus.sampling import Completion
from sdf_corpus.store.jobs import JobQueries

if TYPE_CHECKING:  # the rubric module loads the prompt machinery; the store needs none
    from sdf_corpus.judge.rubric import Judgement

__all__ = ["JudgeStore"]


class JudgeStore:
    def __init__(self, ledger: JobQueries, rubric_hash: str) -> None:
        self.ledger, self.rubric = ledger, rubric_hash

    def done(self) -> set[str]:
        rows = self.ledger.db.execute(
            "SELECT doc_id FROM judgements WHERE rubric=?", (self.rubric,)
        )
        return {r[0] for r in rows}

    def judged(self) -> set[str]:
        """Documents with scores under this rubric (not those recorded as unjudged)."""
        rows = self.ledger.db.execute(
            "SELECT doc_id FROM judgements WHERE rubric=? AND status='judged'", (self.rubric,)
        )
        return {r[0] for r in rows}

    def get(self, doc_id: str) -> dict[str, Any] | None:
        row = self.ledger.db.execute(
            "SELECT status, scores, justifications, error, model FROM judgements "
            "WHERE doc_id=? AND rubric=?",
            (doc_id, self.rubric),
        ).fetchone()
        if row is None:
            return None
        status, scores, why, error, model = row
        return {
            "status": status,
            "scores": json.loads(scores) if scores else {},
            "justifications": json.loads(why) if why else {},
            "error": error,
            "model": model,
        }

    def record(
        self,
        doc_id: str,
        completion: Completion,
        started: float,
        judgement: Judgement | None,
        *,
        error: str = "",
        final: bool,
    ) -> None:
        """One paid judge request, and (when `final`) its outcome, in one transaction."""
        c, now = completion, time.time()
        with self.ledger.transaction():
            self.ledger.insert_paid_attempt(
                doc_id,
                "judge",
                started,
                now,
                c,
                outcome="ok" if judgement else "unparsed",
                error_class="JudgeParseError" if error else None,
                error_message=error or None,
            )
            if final:
                self.ledger.db.execute(
                    "INSERT OR REPLACE INTO judgements VALUES (?,?,?,?,?,?,?,?)",
                    (
                        doc_id,
                        self.rubric,
                        "judged" if judgement else "unjudged",
                        json.dumps(judgement.scores) if judgement else None,
                        json.dumps(judgement.justifications) if judgement else None,
                        error or None,
                        c.model,
                        now,
                    ),
                )
