"""Which kept documents the shards hold, and which go to the reserve.

Documents arrive in plan order, and a genre's plan order is stratified (job k
takes principle perm[k mod P]), so a prefix of it covers every cell before any
repeats. Each genre takes its documents in that order while taking one brings
it closer to its target (kept + n/2 <= target), so it lands within half a
document of it, then the total is corrected: while it is outside its bound, the
genre furthest over gives back its last document, or the genre furthest under
takes its next one, as long as that genre stays within its own bound. The
choice depends only on the documents and the targets: the same run folder
always holds the same documents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sdf_corpus.budget.bounds import GENRE_TOLERANCE, TOTAL_TOLERANCE, slack

__all__ = ["Candidate", "hold_target"]


@dataclass(frozen=True, slots=True)
class Candidate:
    id: str
    genre: str
    tokens: int


@dataclass
class _Genre:
    target: int
    docs: list[Candidate] = field(default_factory=list)
    taken: list[int] = field(default_factory=list)  # positions in docs, in order
    kept: int = 0

    def mean(self) -> float:
        return sum(d.tokens for d in self.docs) / len(self.docs) if self.docs else 0.0

    def bound(self) -> float:
        return slack(self.target, GENRE_TOLERANCE, self.mean())

    def fill(self) -> None:
        for i, doc in enumerate(self.docs):
            # A genre with a target keeps at least its first document: one document
            # over a small target is within its bound, none at all is a missing genre.
            if (not self.taken and self.target > 0) or self.kept + doc.tokens / 2 <= self.target:
                self.taken.append(i)
                self.kept += doc.tokens

    def can_give(self) -> bool:
        if len(self.taken) < 2:  # never empty a genre to trim the total
            return False
        return self.kept - self.docs[self.taken[-1]].tokens >= self.target - self.bound()

    def next_free(self) -> int | None:
        chosen = set(self.taken)
        return next((i for i in range(len(self.docs)) if i not in chosen), None)

    def can_take(self) -> bool:
        i = self.next_free()
        return i is not None and self.kept + self.docs[i].tokens <= self.target + self.bound()


def hold_target(docs: Sequence[Candidate], targets: Mapping[str, int], budget: int) -> set[str]:
    """The ids that go to the reserve; every other document stays in the shards.
    Documents of a genre without a target (user text) all stay."""
    genres: dict[str, _Genre] = {g: _Genre(int(t)) for g, t in targets.items()}
    for doc in docs:
        if doc.genre in genres:
            genres[doc.genre].docs.append(doc)
    for g in genres.values():
        g.fill()
    _correct_total(genres, budget)
    kept = {g.docs[i].id for g in genres.values() for i in g.taken}
    return {d.id for d in docs if d.genre in genres and d.id not in kept}


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
                if g.can_give() and total - g.docs[g.taken[-1]].tokens >= budget - bound
            ]
            if not givers:
                return
            g = genres[max(givers, key=lambda n: (genres[n].kept - genres[n].target, n))]
            g.kept -= g.docs[g.taken.pop()].tokens
        elif total < budget - bound:
            takers = [n for n, g in genres.items() if g.can_take()]
            if not takers:
                return
            g = genres[min(takers, key=lambda n: (genres[n].kept - genres[n].target, n))]
            i = g.next_free()
            assert i is not None  # can_take checked it
            g.taken.append(i)
            g.kept += g.docs[i].tokens
        else:
            return
