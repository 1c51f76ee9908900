"""Where the pool applies: which stage it answers, and which cell a job belongs to."""

from __future__ import annotations

from sdf_corpus.chain import stages_for
from sdf_corpus.plan.job import Job
from sdf_corpus.spec.genres import Genre, Stage
from sdf_corpus.spec.load import Corpus

__all__ = ["cell_of", "group_of", "idea_stage", "pool_applies"]


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
