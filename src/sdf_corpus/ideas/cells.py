"""Where the pool applies: which stage it answers, and which cell a job belongs to."""

from __future__ import annotations

from sdf_corpus.chain import stages_for
from sdf_corpus.plan.job import Job
from sdf_corpus.spec.genres import Genre, Stage
from sdf_corpus.spec.load import Corpus

__all__ = ["cell_of", "group_of", "idea_stage", "pool_applies", "pool_note"]


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
        f"(up to {ideas.max_asks} asks, then the job's own idea stage)"
    )
