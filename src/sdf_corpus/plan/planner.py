"""Expand genre x principle x persona (+ attribute draws) into Jobs.

How the budget becomes jobs:
1. Each genre's share of the token budget is budget x weight / sum(weights).
   A job is expected to yield its genre's mean length x (1 - expected_drop_rate)
   tokens after cleaning, so the ideal job count per genre follows.
2. Coverage comes first. If the total is smaller than the number of
   (genre, principle) cells, no cell gets a second job: counts are capped at the
   number of principles and the excess goes to the other genres by weight.
   Otherwise every genre gets at least one job per principle and the rest of the
   budget is water-filled by weight, so small-weight genres are not starved of
   coverage and large ones still get their share.
3. Within a genre, job k takes principle perm[k mod P] of a seeded permutation,
   so every cell is covered before any repeats. AI characters, authors and
   audiences rotate through seeded permutations from a seeded starting slot per
   genre, so within a genre no name repeats before every name has been used,
   and genres start at different names.
Everything derives from the spec's seed, and a job depends only on its genre
and its number k within the genre (never on other genres' counts): the same spec
gives the same jobs and ids, raising the budget adds jobs k = n, n + 1, ...
without touching existing ones, and a top-up round continues where the last
round stopped.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sdf_corpus.plan.job import Job, job_id
from sdf_corpus.plan.share import SubjectSchedule
from sdf_corpus.spec.personas import SUBJECT_ID

if TYPE_CHECKING:
    from sdf_corpus.spec.load import Corpus

__all__ = [
    "Allocation",
    "allocate",
    "budget_allocation",
    "genre_targets",
    "iter_jobs",
    "plan_fingerprint",
    "sample_job",
]


@dataclass(frozen=True)
class Allocation:
    jobs: dict[str, int]  # genre -> job count
    tokens: dict[str, int]  # genre -> expected final tokens


def expected_tokens(corpus: Corpus, genre: str) -> float:
    """Tokens a job of this genre is expected to add to the cleaned corpus."""
    return mean_length(corpus, genre) * (1.0 - corpus.spec.budget.expected_drop_rate)


def mean_length(corpus: Corpus, genre: str) -> int:
    """A genre's mean document length; a base model on the local backend writes one
    continuation of its `local` stage's max_tokens (with the repetition penalty it
    seldom stops early), after a short opening."""
    g = corpus.genres[genre]
    if corpus.spec.backend.provider == "local" and g.local is not None:
        return min(g.mean_tokens, g.local.max_tokens)
    return g.mean_tokens


def genre_targets(corpus: Corpus) -> dict[str, int]:
    """Tokens each genre should hold in the cleaned corpus: budget x weight / sum of weights.

    The one target figure `plan` prints and `report` compares against. What the
    planned jobs are expected to yield (whole jobs, coverage floors) is the
    allocation's `tokens`, shown by `plan` as "expected".
    """
    weights = corpus.weights()
    total_w = sum(weights.values())
    budget = corpus.spec.budget.tokens
    return {g: round(budget * w / total_w) for g, w in weights.items()}


def allocate(corpus: Corpus, budget_tokens: int, *, coverage: bool = True) -> Allocation:
    weights = corpus.weights()
    total_w = sum(weights.values())
    eff = {g: expected_tokens(corpus, g) for g in weights}
    ideal = {g: budget_tokens * w / total_w / eff[g] for g, w in weights.items()}
    n_principles = len(corpus.constitution.principles)
    cells = n_principles * len(weights)
    total = sum(ideal.values())
    if not coverage:
        counts = _largest_remainder(ideal, max(1, round(total)), cap=None)
    elif total < cells:
        counts = _largest_remainder(ideal, max(1, round(total)), cap=n_principles)
    else:
        floor_tokens = {g: n_principles * eff[g] for g in weights}
        share = {g: budget_tokens * w / total_w for g, w in weights.items()}
        filled = _water_fill(share, floor_tokens, budget_tokens)
        counts = {g: max(n_principles, round(filled[g] / eff[g])) for g in weights}
    tokens = {g: round(counts[g] * eff[g]) for g in counts}
    return Allocation(counts, tokens)


def _largest_remainder(ideal: Mapping[str, float], total: int, cap: int | None) -> dict[str, int]:
    counts = {g: 0 for g in ideal}
    open_ = {g for g, x in ideal.items() if x > 0}
    remaining = total
    while remaining > 0 and open_:
        weight = sum(ideal[g] for g in open_)
        quota = {g: remaining * ideal[g] / weight for g in open_}
        capped = {g for g in open_ if cap is not None and counts[g] + quota[g] >= cap}
        if capped:  # fill those to the cap and share the rest among the others
            for g in capped:
                remaining -= cap - counts[g]  # type: ignore[operator]
                counts[g] = cap  # type: ignore[assignment]
            open_ -= capped
            continue
        floors = {g: math.floor(quota[g]) for g in open_}
        for g in open_:
            counts[g] += floors[g]
        left = remaining - sum(floors.values())
        by_remainder = sorted(open_, key=lambda g: (-(quota[g] - floors[g]), g))
        for g in by_remainder[:left]:
            counts[g] += 1
        remaining = 0
    return counts


def _water_fill(
    share: Mapping[str, float], floor: Mapping[str, float], total: float
) -> dict[str, float]:
    """Give each genre max(floor, lam x share) with the sum as close to total as floors allow."""
    fixed: set[str] = set()
    while True:
        free = [g for g in share if g not in fixed]
        left = total - sum(floor[g] for g in fixed)
        free_share = sum(share[g] for g in free)
        lam = left / free_share if free_share > 0 else 0.0
        newly = {g for g in free if lam * share[g] < floor[g]}
        if not newly:
            return {g: floor[g] if g in fixed else lam * share[g] for g in share}
        fixed |= newly


def _seed_int(*parts: object) -> int:
    digest = hashlib.blake2b(json.dumps(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def _permutation(n: int, *seed_parts: object) -> list[int]:
    order = list(range(n))
    random.Random(_seed_int(*seed_parts)).shuffle(order)
    return order


@dataclass
class _Rotations:
    corpus: Corpus
    ai: list[int] = field(init=False)
    author: list[int] = field(init=False)
    audience: list[int] = field(init=False)

    def __post_init__(self) -> None:
        lib, seed = self.corpus.personas, self.corpus.spec.seed
        self.ai = _permutation(len(lib.ai), seed, "ai")
        self.author = _permutation(len(lib.authors), seed, "author")
        self.audience = _permutation(len(lib.audiences), seed, "audience")

    def cast(self, genre: str, n: int) -> str:
        """The cast character of a genre's n-th cast job."""
        position = _seed_int(self.corpus.spec.seed, "slot", genre) + n
        lib = self.corpus.personas
        return lib.ai[self.ai[position % len(self.ai)]].id if lib.ai else ""

    def pick(self, genre: str, k: int) -> tuple[str, list[str], str]:
        position = _seed_int(self.corpus.spec.seed, "slot", genre) + k
        lib = self.corpus.personas
        author = lib.authors[self.author[position % len(self.author)]] if lib.authors else None
        audience = (
            lib.audiences[self.audience[position % len(self.audience)]].id if lib.audiences else ""
        )
        return author.id if author else "", list(author.roles) if author else [], audience


# What a job id leaves out: everything that shapes only the requests of its stages
# (prompts, injections, the rewrite and reasoning switches, which stage is the
# output, how a chat is assembled, the model). Those key each stage's output instead
# (chain.stage_key), so the rewrite switched off, or a new rewrite model, keeps
# the job and its drafts.
_STAGE_FIELDS = frozenset({"stages", "rewrite", "injection", "reasoning", "local", "output"})
_STAGE_FIELDS |= {"messages", "pool"}  # pool: the idea pool's ask shapes its requests only


def plan_fingerprint(corpus: Corpus, genre: str) -> str:
    """Hash of what shapes a genre's jobs themselves: its draws (attributes, length,
    personas used, who it is about), the constitution, personas and subject."""
    g = corpus.genres[genre]
    drawn = {k: v for k, v in g.model_dump(mode="json").items() if k not in _STAGE_FIELDS}
    return hashlib.blake2b(
        json.dumps(drawn, sort_keys=True).encode(), digest_size=16
    ).hexdigest() + _shared(corpus)


def _shared(corpus: Corpus) -> str:
    spec = corpus.spec
    return hashlib.blake2b(
        (
            corpus.constitution.text
            + "\x00"
            + json.dumps(corpus.personas.model_dump(), sort_keys=True)
            # The subject and the names to avoid are rendered into the prompts.
            + json.dumps(
                [spec.subject.model_dump(mode="json"), spec.excluded_names], sort_keys=True
            )
        ).encode(),
        digest_size=16,
    ).hexdigest()


def _fingerprints(corpus: Corpus) -> dict[str, str]:
    return {name: plan_fingerprint(corpus, name) for name in corpus.genres}


def iter_jobs(
    corpus: Corpus,
    counts: Mapping[str, int],
    *,
    round_no: int = 0,
    start_index: int = 0,
    done_per_genre: Mapping[str, int] | None = None,
    after_first: int | None = None,
) -> Iterator[Job]:
    """Yield the jobs of one round in plan order (genre by genre).

    `after_first` (the first round's job count): a later round's job k of a genre gets
    the plan index `after_first + k * G + g` (G genres, g this one's place), whatever
    rounds or waves it came in, so the plan's order beyond the first round does not
    depend on how a build happened to extend it (`--workers`, `--batch`, a resume)."""
    spec = corpus.spec
    places = {name: i for i, name in enumerate(corpus.genres)}
    principles = corpus.constitution.principles
    rotations = _Rotations(corpus)
    fingerprints = _fingerprints(corpus)
    index = start_index
    for name, n in counts.items():
        genre = corpus.genres[name]
        perm = _permutation(len(principles), spec.seed, "principles", name)
        first = (done_per_genre or {}).get(name, 0)
        attr_keys = sorted(genre.attributes)
        lo, hi = genre.length["min"], genre.length["max"]
        schedule = SubjectSchedule(spec.seed, name, genre.share(), len(principles))
        for k in range(first, first + n):
            seed = _seed_int(spec.seed, name, k)
            rng = random.Random(seed)
            author, roles, audience = rotations.pick(name, k)
            ai, about = _who(genre.uses, schedule, rotations, name, k)
            fields: dict[str, Any] = {
                "corpus": spec.name,
                "genre": name,
                "principle_id": principles[perm[k % len(perm)]].id,
                "ai_id": ai,
                "about": about,
                "author_id": author if "author" in genre.uses else "",
                "author_role": rng.choice(roles) if roles and "author" in genre.uses else "",
                "audience_id": audience if "audience" in genre.uses else "",
                "attributes": {key: rng.choice(genre.attributes[key]) for key in attr_keys},
                "seed": seed,
                "target_tokens": rng.randint(lo, hi),
            }
            at = index if after_first is None else after_first + k * len(places) + places[name]
            yield Job(id=job_id(fields, fingerprints[name]), index=at, round=round_no, **fields)
            index += 1


def _who(
    uses: Sequence[str], schedule: SubjectSchedule, rotations: _Rotations, genre: str, k: int
) -> tuple[str, str]:
    """(ai_id, about) of job k: the subject, or the next cast character in rotation."""
    if "ai" not in uses:
        return "", ""
    subject, before = schedule.at(k)
    if subject:
        return SUBJECT_ID, "subject"
    return rotations.cast(genre, k - before), "cast"


def budget_allocation(corpus: Corpus) -> Allocation:
    """The jobs per genre `budget.tokens` asks for: round 0 of every plan, and what
    `plan` shows and estimates (the one place the budget becomes job counts)."""
    return allocate(corpus, corpus.spec.budget.tokens)


def sample_job(corpus: Corpus, genre: str) -> Job:
    return next(iter_jobs(corpus, {genre: 1}))
