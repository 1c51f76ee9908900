"""Rendering genre prompt templates for one job.

Templates are Jinja2 with StrictUndefined: a variable that does not exist is an
error, found at load time by `check_templates` (which renders every stage with a
sample job) rather than mid-build. The variables are documented in docs/genres.md.
"""

from __future__ import annotations

import functools
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import jinja2

from sdf_corpus.errors import SpecError
from sdf_corpus.spec.personas import SUBJECT_ID
from sdf_corpus.spec.subject import name_rule, quoted

if TYPE_CHECKING:
    from sdf_corpus.plan.job import Job
    from sdf_corpus.spec.genres import Genre, Stage
    from sdf_corpus.spec.load import Corpus

__all__ = ["check_templates", "job_context", "render"]

_ENV = jinja2.Environment(
    undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False
)
_TEMPLATE_FIELDS = ("prompt", "system", "system_injection", "prefill", "context")
WORDS_PER_TOKEN = 0.75
_DICT_ATTR = re.compile(r"'dict object' has no attribute '([^']+)'")
_NOT_IN_USES = "the genre's templates use `{use}` but its `uses` does not list it"


def job_context(corpus: Corpus, job: Job, stages: dict[str, str] | None = None) -> dict[str, Any]:
    genre = corpus.genres[job.genre]
    principle = corpus.constitution.by_id(job.principle_id)
    lib = corpus.personas
    author = next((p for p in lib.authors if p.id == job.author_id), None)
    audience = next((p for p in lib.audiences if p.id == job.audience_id), None)
    lo, hi = genre.length["min"], genre.length["max"]
    ai = _ai(corpus, job)
    subject = corpus.spec.subject
    rule = name_rule(tuple(subject.names()))
    # A cast job's principle speaks of its own character, never of the subject by name.
    own = rule.speak_of if job.about == "cast" else (lambda text, _name: text)
    return {
        "principle": {
            "id": principle.id,
            "title": own(principle.title, ai["name"]),
            "text": own(principle.text, ai["name"]),
            "section": own(principle.section, ai["name"]),
        },
        "constitution": {"title": own(corpus.constitution.title, ai["name"])},
        "ai": ai if job.ai_id else _persona_slot("ai", genre),
        "subject": {**subject.model_dump(mode="json"), "names": subject.names()},
        "names": _names(corpus, job),
        "author": (
            {**author.model_dump(), "role": job.author_role}
            if author
            else _persona_slot("author", genre)
        ),
        "audience": audience.model_dump() if audience else _persona_slot("audience", genre),
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


def _persona_slot(use: str, genre: Genre) -> Any:
    """An empty persona for a genre that uses the kind, else an undefined that says the fix.

    Without this, `{{ author.name }}` in a genre without `author` in `uses` fails
    as "'dict object' has no attribute 'name'", which names nothing the user wrote.
    """
    if use in genre.uses:
        return {}
    return _ENV.undefined(hint=_NOT_IN_USES.format(use=use), name=use)


def _ai(corpus: Corpus, job: Job) -> dict[str, Any]:
    """The job's AI character as templates see it: a cast persona, or the subject
    in the same shape (so every genre prompt works for either)."""
    subject = corpus.spec.subject
    if job.about == "subject":
        return {
            "id": job.ai_id,
            "name": subject.name,
            "pronouns": subject.pronouns,
            "origin": "",
            "role": subject.description,
            "setting": "; ".join(subject.deployment),
            "traits": list(subject.traits),
            "voice": subject.voice,
            "developer": subject.developer,
            "is_subject": True,
        }
    persona = next((p for p in corpus.personas.ai if p.id == job.ai_id), None)
    if persona is None:
        return {"name": "", "is_subject": False}
    return {**persona.model_dump(), "developer": "", "is_subject": False}


def _names(corpus: Corpus, job: Job) -> dict[str, Any]:
    """Names no AI in the job's text may carry: the spec's excluded names, except the
    subject's own. A cast job is not told the subject's name even as one to avoid: it
    never meets that name anywhere (principle and constitution are rewritten for it), and
    naming it would put it in the writer's mind; the clean stage catches a coincidence."""
    folded = {n.casefold() for n in corpus.spec.subject.names()}
    avoid = [n for n in corpus.spec.excluded_names if n.casefold() not in folded]
    return {"avoid": avoid, "avoid_quoted": quoted(avoid)}


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
        # jinja names the Python type ("'dict object' has no attribute 'nam'"), not the key
        message = _DICT_ATTR.sub(r"a variable has no field '\1'", str(exc.message))
        fix = "see docs/genres.md for the variables and fields a template can use"
        for use in ("ai", "author", "audience"):
            if message == _NOT_IN_USES.format(use=use):
                fix = f"add `{use}` to `uses` in the genre file"
        raise SpecError(where, f"template variable cannot be filled: {message}", fix) from None
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
        for job in _samples(corpus, sample_job(corpus, name), genre.share()):
            context = job_context(corpus, job)
            where = str(corpus.genre_paths.get(name, name))
            for stage in _all_stages(genre):
                render_stage(stage, context, where)
                context["stages"][stage.name] = "(output of " + stage.name + ")"
            for message in genre.messages:
                render(message.template, context, f"{where} messages")
            if genre.pool.ask:  # the idea pool's part of the genre (docs/genres.md)
                render(genre.pool.ask, context, f"{where} pool.ask")


def _samples(corpus: Corpus, job: Job, share: float) -> list[Job]:
    """The sample job as each kind of job the genre's share allows (subject, cast)."""
    if not job.about:
        return [job]
    out = []
    if share > 0:
        out.append(replace(job, about="subject", ai_id=SUBJECT_ID))
    if share < 1 and corpus.personas.ai:
        cast = job.ai_id if job.about == "cast" else corpus.personas.ai[0].id
        out.append(replace(job, about="cast", ai_id=cast))
    return out or [job]


def _all_stages(genre: Genre) -> list[Stage]:
    return [*genre.stages, *([genre.local] if genre.local else [])]
