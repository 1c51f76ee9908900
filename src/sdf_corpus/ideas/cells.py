"""Where the pool applies: which stage it answers, and which cell a job belongs to."""

from __future__ import annotations

from sdf_corpus.chain import stage_key, stages_for
from sdf_corpus.plan.job import Job
from sdf_corpus.sampling import Request
from sdf_corpus.spec.genres import Genre, Stage
from sdf_corpus.spec.load import Corpus
from sdf_corpus.store import Store
from sdf_corpus.store.ideas import IdeaBook
from sdf_corpus.targets import Target

__all__ = [
    "cell_of",
    "group_of",
    "idea_stage",
    "kept_pool_key",
    "pool_applies",
    "pool_key",
    "pool_note",
    "pooled_stage",
    "slice_key",
]

# What a pooled idea's key names as its "target": the pool, not the model that answered
# (a pool request serves many jobs; its model is in `pool_requests`).
_POOL_TARGET = Target("pool", "pool")


def pool_applies(corpus: Corpus) -> bool:
    """On unless switched off; never on the local backend, whose base model runs one
    document-opening stage per genre and has no idea stage to answer."""
    return corpus.spec.ideas.pool and corpus.spec.backend.provider != "local"


def idea_stage(genre: Genre, provider: str) -> Stage | None:
    """The stage the pool answers: a genre's first stage when it asks for a list (the
    idea or scenario stage) and later stages read it; None otherwise."""
    stages = stages_for(genre, provider)
    first = stages[0]
    return first if first.parse == "list" and len(stages) > 1 else None


def pool_key(request_id: str, item: int, text: str) -> str:
    """The stage key of a pool-filled idea output: the pool idea's own identity (its
    request, brief number and text), not the job's own idea request. Later stages key
    off it, so changing one of them reads the idea back and never asks the pool again;
    with `ideas.pool: false` the stage keys its own request instead (chain.stage_key)."""
    return stage_key(f"pool:{request_id}:{item}:{text}", _POOL_TARGET, Request(prompt=""))


def pooled_stage(corpus: Corpus, genre: str) -> str | None:
    """The name of the genre's stage the pool answers in this run, if any."""
    if not pool_applies(corpus):
        return None
    stage = idea_stage(corpus.genres[genre], corpus.spec.backend.provider)
    return None if stage is None else stage.name


def kept_pool_key(ledger: Store, job_id: str) -> str | None:
    """The key of the idea the pool kept for the job; None while it owes one."""
    kept = IdeaBook(ledger).kept_idea(job_id)
    return None if kept is None else pool_key(*kept)


def slice_key(corpus: Corpus, job: Job) -> str:
    """What a machine's `--shard` slice is chosen by. With the pool on, a job of a genre
    the pool serves goes with its group (genre x kind of AI: `group_of`), so one slice
    owns every cell of the group and sends exactly the requests one machine would (the
    full requests per cell, the cells' remainders mixed, the exact-repeat check across
    the group's cells); otherwise the job's id, for the most even split."""
    if pooled_stage(corpus, job.genre) is None:
        return job.id
    return group_of(job)


def cell_of(job: Job) -> str:
    """genre x principle x whose story (subject or cast, where a genre mixes them)."""
    return f"{job.genre}/{job.principle_id}/{job.about or '-'}"


def group_of(job: Job) -> str:
    """What one request may mix: a genre's jobs for one kind of AI (their principles may
    differ; each idea is still checked against its own cell)."""
    return f"{job.genre}/*/{job.about or '-'}"


def pool_note(corpus: Corpus) -> str:
    """One line for `plan`: whether and how the idea pool fills the jobs' ideas."""
    ideas = corpus.spec.ideas
    if corpus.spec.backend.provider == "local":
        return (
            "idea pool: not used (the local backend's base model writes each document from "
            "its genre's opening, with no idea stage)"
        )
    if not ideas.pool:
        return "idea pool: off (ideas.pool: false): every job asks for its own idea list"
    return (
        f"idea pool: on: one list request per {ideas.per_request} jobs of a genre, an idea per "
        f"job, dropped when its cosine to one its cell holds is >= {ideas.threshold:g} "
        f"(up to {ideas.max_asks} asks, then the job is set aside: its cell is saturated)"
    )
