"""One job's chain of stages: which stages run, how each request is built, and
how a stage's free-text output is read by the stages after it.

Providers and small models drift from requested formats, so parsing is lenient:
a stage that asked for a list gets one item picked by the job's seed, and any
output that does not parse is used as it is rather than failing the job.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import re
from typing import Any

from sdf_corpus.plan.job import Job
from sdf_corpus.prompts import render_stage
from sdf_corpus.sampling import Request
from sdf_corpus.spec.genres import Genre, Stage
from sdf_corpus.spec.load import Corpus
from sdf_corpus.spec.subject import name_rule
from sdf_corpus.targets import Target

__all__ = ["build_request", "parse_output", "shared_prefix", "stage_key", "stages_for"]

_ITEM = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*•])\s+(?P<body>.+)$")
_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n(?P<body>.*?)\n```\s*$", re.DOTALL)


def stages_for(genre: Genre, provider: str) -> list[Stage]:
    """A base model cannot follow instructions: the local backend runs the genre's
    single document-continuation stage instead of its instruction chain."""
    if provider == "local" and genre.local is not None:
        return [genre.local]
    return genre.active_stages()


def output_stage_name(genre: Genre, provider: str) -> str:
    if provider == "local" and genre.local is not None:
        return genre.local.name
    return genre.output_stage()


def shared_prefix(corpus: Corpus, genre: Genre, about: str = "subject") -> str:
    """The long head shared by every request of a genre: cached by providers that can.

    A job about a cast character gets the constitution speaking of "the AI" where it
    names the subject, so the writer never meets the subject's name for someone else;
    that is a second cached prefix per genre, not one per character."""
    names = tuple(corpus.spec.subject.names()) if about == "cast" else None
    return _prefix(
        corpus.constitution.text, names, genre.title, genre.description, genre.format_notes
    )


@functools.lru_cache(maxsize=64)
def _prefix(
    constitution: str, cast_names: tuple[str, ...] | None, title: str, about: str, notes: str
) -> str:
    # Built once per genre and kind of job, not per request: the constitution is tens of
    # kB (and a cast job's rewrite is a regex pass over all of it). The same str object
    # each time also lets the backend reuse its JSON encoding.
    constitution = constitution.strip()
    if cast_names is not None:
        constitution = name_rule(cast_names).neutral(constitution)
    return (
        f"You are helping write documents for a corpus about AI characters guided by the "
        f"constitution below. Read it closely; the documents must be faithful to it.\n\n"
        f"<constitution>\n{constitution}\n</constitution>\n\n"
        f'<genre name="{title}">\n{about.strip()}\n\n'
        f"What a real example looks like: {notes.strip()}\n</genre>"
    )


def build_request(
    corpus: Corpus, job: Job, stage: Stage, context: dict[str, Any], provider: str
) -> Request:
    genre = corpus.genres[job.genre]
    rendered = render_stage(stage, context, str(corpus.genre_paths.get(job.genre, job.genre)))
    system = rendered["system"]
    if rendered["system_injection"] and (genre.injection or not stage.optional_injection):
        # Sent at sampling time only: the injection never reaches stored text.
        system = f"{system}\n\n{rendered['system_injection']}".strip()
    if provider == "local":
        # A base model continues a document: its "prompt" is the document's own
        # opening, which belongs in the stored text, so it travels as prefill.
        opening = "\n".join(p for p in (rendered["prompt"], rendered["prefill"]) if p)
        # Its `context` is read first but not stored (the local backend keeps the
        # prefill and what follows it).
        read_first = rendered["context"]
        return Request(
            prompt=f"{read_first}\n\n" if read_first else "",
            prefill=opening,
            max_tokens=stage.max_tokens,
            temperature=stage.temperature,
            stop=tuple(stage.stop),
            custom_id=f"{job.id}-{stage.name}",
            metadata={"seed": job.seed % 2**31},
        )
    return Request(
        prompt=rendered["prompt"],
        system=system,
        cache_prefix=shared_prefix(corpus, genre, job.about),
        max_tokens=stage.max_tokens,
        temperature=stage.temperature,
        stop=tuple(stage.stop),
        prefill=rendered["prefill"],
        custom_id=f"{job.id}-{stage.name}",
    )


def stage_key(previous: str, target: Target, request: Request) -> str:
    """What a stage's output is stored and found under: the key of the stage before it
    (the job's id for the first), the provider and model, and every field of the
    rendered request (template text, the earlier outputs it quotes, the injection,
    max_tokens, temperature, stops, prefill). Two requests with one key are the
    same request, so the answer of one serves the other; anything that would change
    what is asked changes the key, and with it every later stage's key.

    The custom id is left out (it names the attempt, not the question). A stage
    whose output comes from elsewhere than a request (an idea pool) keys it by that
    source's own identity instead: pass it as `previous` with an empty request."""
    fields = [
        previous,
        target.provider,
        target.model,
        request.system,
        request.cache_prefix,
        request.prompt,
        request.prefill,
        request.max_tokens,
        request.temperature,
        request.top_p,
        list(request.stop),
        sorted(request.metadata.items()),
    ]
    blob = json.dumps(fields, ensure_ascii=False, default=str).encode()
    return hashlib.blake2b(blob, digest_size=16).hexdigest()


def parse_output(stage: Stage, text: str, job: Job) -> str:
    text = _unfence(text.strip())
    if stage.parse == "list":
        items = _list_items(text)
        if len(items) >= 2:
            return random.Random(f"{job.seed}:{stage.name}").choice(items)
    return text


def _unfence(text: str) -> str:
    match = _FENCE.match(text)
    return match["body"].strip() if match else text


def _list_items(text: str) -> list[str]:
    """Numbered or bulleted items; continuation lines join the item above them."""
    items: list[list[str]] = []
    for line in text.splitlines():
        match = _ITEM.match(line)
        if match:
            items.append([match["body"].strip()])
        elif items and line.strip():
            items[-1].append(line.strip())
    return [" ".join(parts) for parts in items if parts]
