"""Which kept documents the shards hold, and which go to the reserve.

The cut is made in plan order, per genre, so that the shards are a function of
the plan and not of the order answers arrived in. A genre's plan order is
stratified (job k takes principle perm[k mod P]), so a prefix of it covers every
cell before any repeats. Each genre walks its documents in that order and takes
each while taking it brings the genre closer to its target (kept + n/2 <=
target), stopping at the first that does not fit, or at a `Gap` (a job in front
not yet finished: what lies beyond it another run may not have). Then the total
is corrected: while it is outside its bound, the genre furthest over gives back
its last document, or the genre furthest under takes the one its walk stopped
at, as long as that genre stays within its own bound.

A genre whose walk ran out of documents, or met a gap, before a document that
does not fit is *open*: a run that sent more could cut it differently, so the
build sends more for it (the gap first) before it calls the cut final. The
clean stage keeps the earliest of two repeats in plan order, so a document sent
beyond a genre's cut never changes which documents before it survive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sdf_corpus.budget.bounds import GENRE_TOLERANCE, TOTAL_TOLERANCE, slack

__all__ = ["Candidate", "Gap", "Selection", "hold_target", "select"]


@dataclass(frozen=True, slots=True)
class Candidate:
    id: str
    genre: str
    tokens: int


@dataclass(frozen=True, slots=True)
class Gap:
    """A job of the genre's plan, in front of later documents, not finished yet."""

    genre: str


@dataclass(frozen=True)
class Selection:
    reserve: set[str]  # ids that leave the shards
    open: set[str]  # genres whose walk found no document to stop at


@dataclass
class _Genre:
    target: int
    docs: list[Candidate] = field(default_factory=list)  # before the first gap
    beyond: list[Candidate] = field(default_factory=list)  # after it
    gap: bool = False
    taken: int = 0  # docs[:taken] are in the shards
    kept: int = 0
    stopped: bool = False  # docs[taken] did not fit
    took: bool = False  # the total's correction took that document

    def add(self, doc: Candidate | Gap) -> None:
        if isinstance(doc, Gap):
            self.gap = True
        elif self.gap:
            self.beyond.append(doc)
        else:
            self.docs.append(doc)

    def mean(self) -> float:
        return sum(d.tokens for d in self.docs) / len(self.docs) if self.docs else 0.0

    def bound(self) -> float:
        return slack(self.target, GENRE_TOLERANCE, self.mean())

    def fill(self) -> None:
        for doc in self.docs:
            # A genre with a target keeps at least its first document: one document
            # over a small target is within its bound, none at all is a missing genre.
            first = self.taken == 0 and self.target > 0
            if not first and self.kept + doc.tokens / 2 > self.target:
                self.stopped = True
                return
            self.taken += 1
            self.kept += doc.tokens

    def can_give(self) -> bool:
        if self.taken < 2:  # never empty a genre to trim the total
            return False
        return self.kept - self.docs[self.taken - 1].tokens >= self.target - self.bound()

    def can_take(self) -> bool:
        # Only the document the walk stopped at: every run that lands has it.
        return (
            self.stopped
            and not self.took
            and self.taken < len(self.docs)
            and self.kept + self.docs[self.taken].tokens <= self.target + self.bound()
        )


def select(docs: Sequence[Candidate | Gap], targets: Mapping[str, int], budget: int) -> Selection:
    """The cut of `docs` (every genre's documents and gaps in plan order): the ids that
    go to the reserve, and the genres still open. Documents of a genre without a target
    (user text) all stay."""
    genres: dict[str, _Genre] = {g: _Genre(int(t)) for g, t in targets.items()}
    for doc in docs:
        if doc.genre in genres:
            genres[doc.genre].add(doc)
    for g in genres.values():
        g.fill()
    _correct_total(genres, budget)
    kept = {g.docs[i].id for g in genres.values() for i in range(g.taken)}
    reserve = {
        d.id for d in docs if isinstance(d, Candidate) and d.genre in genres and d.id not in kept
    }
    still = {n for n, g in genres.items() if g.target > 0 and not g.stopped}
    return Selection(reserve, still)


def hold_target(docs: Sequence[Candidate], targets: Mapping[str, int], budget: int) -> set[str]:
    """The ids that go to the reserve, for documents all finished in plan order."""
    return select(docs, targets, budget).reserve


def _correct_total(genres: dict[str, _Genre], budget: int) -> None:
    """Give back or take one document at a time while the total is outside its bound;
    a move that would throw the total past the other side of the bound is not made."""
    sizes = [d.tokens for g in genres.values() for d in g.docs]
    bound = slack(budget, TOTAL_TOLERANCE, sum(sizes) / len(sizes) if sizes else 0.0)
    for _ in range(len(sizes)):
        total = sum(g.kept for g in genres.values())
        if total > budget + bound:
            givers = [
                n
                for n, g in genres.items()
                if g.can_give() and total - g.docs[g.taken - 1].tokens >= budget - bound
            ]
            if not givers:
                return
            g = genres[max(givers, key=lambda n: (genres[n].kept - genres[n].target, n))]
            g.taken -= 1
            g.kept -= g.docs[g.taken].tokens
        elif total < budget - bound:
            takers = [n for n, g in genres.items() if g.can_take()]
            if not takers:
                return
            g = genres[min(takers, key=lambda n: (genres[n].kept - genres[n].target, n))]
            g.kept += g.docs[g.taken].tokens
            g.taken += 1
            g.took = True  # what follows it, another run may not have
        else:
            return
