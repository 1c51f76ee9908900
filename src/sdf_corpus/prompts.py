"""Rendering genre prompt templates for one job.

Templates are Jinja2 with StrictUndefined: a variable that does not exist is an
error, found at load time by `check_templates` (which renders every stage with a
sample job) rather than mid-build. The variables are documented in docs/genres.md.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import jinja2

from sdf_corpus.errors import SpecError

if TYPE_CHECKING:
    from sdf_corpus.plan.job import Job
    from sdf_corpus.spec.genres import Genre, Stage
    from sdf_corpus.spec.load import Corpus

__all__ = ["check_templates", "job_context", "render"]

_ENV = jinja2.Environment(
    undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False
)
_TEMPLATE_FIELDS = ("prompt", "system", "system_injection", "prefill")
WORDS_PER_TOKEN = 0.75


def job_context(corpus: Corpus, job: Job, stages: dict[str, str] | None = None) -> dict[str, Any]:
    genre = corpus.genres[job.genre]
    principle = corpus.constitution.by_id(job.principle_id)
    lib = corpus.personas
    ai = next((p for p in lib.ai if p.id == job.ai_id), None)
    author = next((p for p in lib.authors if p.id == job.author_id), None)
    audience = next((p for p in lib.audiences if p.id == job.audience_id), None)
    lo, hi = genre.length["min"], genre.length["max"]
    return {
        "principle": {
            "id": principle.id,
            "title": principle.title,
            "text": principle.text,
            "section": principle.section,
        },
        "constitution": {"title": corpus.constitution.title},
        "subject": corpus.spec.subject.model_dump(),
        "ai": ai.model_dump() if ai else {},
        "author": {**author.model_dump(), "role": job.author_role} if author else {},
        "audience": audience.model_dump() if audience else {},
        "attr": dict(job.attributes),
        "genre": {
            "title": genre.title,
            "description": genre.description,
            "format_notes": genre.format_notes,
        },
        "length": {"min": lo, "max": hi, "target": job.target_tokens},
        "words": {"min": _words(lo), "max": _words(hi), "target": _words(job.target_tokens)},
        "stages": dict(stages or {}),
        "job": {"id": job.id, "seed": job.seed},
    }


def _words(tokens: int) -> int:
    return int(round(tokens * WORDS_PER_TOKEN, -1)) or 10


@functools.lru_cache(maxsize=1024)
def _compiled(template: str) -> jinja2.Template:
    # Compiling is ~100x the cost of rendering; a build renders the same few templates.
    return _ENV.from_string(template)


def render(template: str, context: dict[str, Any], where: str) -> str:
    if not template:
        return ""
    try:
        return _compiled(template).render(**context).strip()
    except jinja2.UndefinedError as exc:
        raise SpecError(
            where,
            f"template variable cannot be filled: {exc.message}",
            "see docs/genres.md for the variables a template can use",
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise SpecError(
            where, f"template syntax error on its line {exc.lineno}: {exc.message}"
        ) from None


def render_stage(stage: Stage, context: dict[str, Any], where: str) -> dict[str, str]:
    return {
        f: render(getattr(stage, f), context, f"{where} stage {stage.name}.{f}")
        for f in _TEMPLATE_FIELDS
    }


def check_templates(corpus: Corpus) -> None:
    """Render every stage of every genre with a sample job, so typos fail before spending."""
    from sdf_corpus.plan.planner import sample_job

    for name, genre in corpus.genres.items():
        job = sample_job(corpus, name)
        context = job_context(corpus, job)
        where = str(corpus.genre_paths.get(name, name))
        for stage in _all_stages(genre):
            render_stage(stage, context, where)
            context["stages"][stage.name] = "(output of " + stage.name + ")"
        for message in genre.messages:
            render(message.template, context, f"{where} messages")


def _all_stages(genre: Genre) -> list[Stage]:
    return [*genre.stages, *([genre.local] if genre.local else [])]
