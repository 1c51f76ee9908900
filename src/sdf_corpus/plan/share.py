"""Which of a genre's jobs are about the subject, for a `subject_share` between 0 and 1.

Job k of a genre takes principle perm[k mod P], so jobs come in cycles of P (one
per principle). Cycle c gets its subject count from a Bresenham line over whole
cycles (floor((c+1)·P·s + φ) − floor(c·P·s + φ)), so complete cycles hold the
share exactly; inside a cycle the count is spread evenly over its P slots with a
phase ψ_c drawn per cycle, so the principles that fall to the subject change from
one cycle to the next. The count of subject jobs among the first n therefore
stays within two jobs of n·s at every n, and everything depends only on the
spec's seed, the genre and k: raising the budget never changes an earlier job.
"""

from __future__ import annotations

import hashlib
import json
import math

__all__ = ["SubjectSchedule"]


def _unit(*parts: object) -> float:
    """A seeded number in [0, 1)."""
    digest = hashlib.blake2b(json.dumps(parts).encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") >> 11) / float(1 << 53)


class SubjectSchedule:
    def __init__(self, seed: int, genre: str, share: float, cycle: int) -> None:
        self.share = min(1.0, max(0.0, share))
        self.cycle = max(1, cycle)
        self._seed = (seed, genre)
        self._phi = _unit(seed, "subject", genre)
        self._psi: dict[int, float] = {}  # per-cycle phases; a plan walks cycles in order

    def _in_cycle(self, c: int) -> int:
        """Subject jobs in cycle c."""
        total = self.cycle * self.share
        return math.floor((c + 1) * total + self._phi) - math.floor(c * total + self._phi)

    def before(self, n: int) -> int:
        """How many of the jobs k < n are about the subject."""
        if self.share <= 0.0 or n <= 0:
            return 0
        if self.share >= 1.0:
            return n
        c, r = divmod(n, self.cycle)
        whole = math.floor(c * self.cycle * self.share + self._phi) - math.floor(self._phi)
        if r == 0:
            return whole
        count = self._in_cycle(c)
        psi = self._phase(c)
        return whole + math.floor(r * count / self.cycle + psi) - math.floor(psi)

    def _phase(self, c: int) -> float:
        psi = self._psi.get(c)
        if psi is None:
            if len(self._psi) > 64:
                self._psi.clear()
            psi = self._psi[c] = _unit(*self._seed, "cycle", c)
        return psi

    def at(self, k: int) -> tuple[bool, int]:
        """(job k is about the subject, how many jobs before k are)."""
        before = self.before(k)
        return self.before(k + 1) > before, before

    def is_subject(self, k: int) -> bool:
        return self.at(k)[0]
