"""The decision of the closed loop: does a genre need one more job sent?

A genre's projection is what its finished jobs keep plus, for each job in
flight, the yield it is expected to keep. A job is sent while the projection is
under the genre's target, so the loop stops about one job over it (the reserve
holds the surplus) and never short by its own choice. The yield is the genre's
measured kept tokens per finished job, shrunk towards the planner's expectation
by `PRIOR_JOBS` pseudo-jobs, so the first few answers cannot swing it wildly; a
genre whose every job was dropped so far counts half the expectation, as the
top-up does. A genre never has more than `cap` jobs released, so a yield near
zero cannot send thousands of jobs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from sdf_corpus.budget.yields import Meter

__all__ = ["PRIOR_JOBS", "BudgetGate"]

PRIOR_JOBS = 1.0


@dataclass
class BudgetGate:
    targets: Mapping[str, float]  # this process's share of each genre's target
    prior: Mapping[str, float]  # the planner's expected kept tokens per job
    caps: Mapping[str, int]  # most jobs a genre may have sent in this loop
    meters: dict[str, Meter]
    # Before a genre has a finished job, count each job in flight as 1 / first_share jobs:
    # a batch (no concurrency bounds what is in flight) then sends only that share of
    # the expected need, and sizes the next batch from what this one returned.
    first_share: float = 1.0
    in_flight: dict[str, str] = field(default_factory=dict)  # job id -> genre
    sent: dict[str, int] = field(default_factory=dict)  # genre -> jobs admitted

    def yield_of(self, genre: str) -> float:
        m, prior = self.meters[genre], max(1.0, self.prior[genre])
        if m.done and not m.kept:
            return prior / 2
        return (m.kept + prior * PRIOR_JOBS) / (m.done + PRIOR_JOBS)

    def flying(self, genre: str) -> int:
        return sum(1 for g in self.in_flight.values() if g == genre)

    def projected(self, genre: str) -> float:
        per_job = self.yield_of(genre)
        if not self.meters[genre].done:
            per_job /= self.first_share
        return self.meters[genre].kept + per_job * self.flying(genre)

    def need(self, genre: str) -> float:
        """Tokens still to be sent for (negative: over the target)."""
        return self.targets.get(genre, 0.0) - self.projected(genre)

    def wants(self, genre: str) -> bool:
        return self.need(genre) > 0 and self.sent.get(genre, 0) < self.caps.get(genre, 0)

    def jobs_needed(self, genre: str) -> int:
        """Jobs that would cover the genre's need at its yield (0 if none)."""
        need = self.need(genre)
        return math.ceil(need / self.yield_of(genre)) if need > 0 else 0

    def admit(self, job_id: str, genre: str) -> bool:
        """Count a job as sent; False (and nothing counted) if it is already in flight."""
        if job_id in self.in_flight:
            return False
        self.in_flight[job_id] = genre
        self.sent[genre] = self.sent.get(genre, 0) + 1
        return True

    def finished(self, job_id: str, genre: str, kept: int | None) -> None:
        """A job ended: `kept` tokens estimated, or None when it failed."""
        self.in_flight.pop(job_id, None)
        if kept is not None:
            meter = self.meters.setdefault(genre, Meter())
            meter.done += 1
            meter.kept += kept

    def neediest(self) -> list[str]:
        """Genres that want a job, the furthest under their target first."""
        wanting = [g for g in self.targets if self.wants(g)]
        return sorted(wanting, key=lambda g: (-self.need(g) / max(1.0, self.targets[g]), g))
