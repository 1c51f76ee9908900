"""Turn a finished job and its stage outputs into a Document for the clean stage.

Only stage outputs become training text; prompts, system prompts and injections
never do. Chat genres assemble `messages` from their declared stages (a tagged
agent transcript expands into many messages with tool calls) and carry the tool
definitions their job drew as `tools`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sdf_corpus.chain import output_stage_name, parse_output, stages_for
from sdf_corpus.document import Document
from sdf_corpus.plan.job import Job
from sdf_corpus.prompts import job_context, render
from sdf_corpus.recipes.tools import definitions_in
from sdf_corpus.recipes.transcript import parse_transcript, render_messages
from sdf_corpus.spec.genres import Genre
from sdf_corpus.spec.load import Corpus
from sdf_corpus.store import StageOutput

__all__ = ["to_document"]


def to_document(corpus: Corpus, job: Job, outputs: dict[str, StageOutput]) -> Document:
    genre = corpus.genres[job.genre]
    provider = corpus.spec.backend.provider
    final = outputs[output_stage_name(genre, provider)]
    messages = _messages(corpus, job, outputs) if genre.format == "chat" else None
    text = render_messages(messages) if messages else final.text.strip()
    return Document(
        id=job.id,
        plan_position=job.index,
        text=text,
        genre=job.genre,
        format=genre.format,
        messages=messages,
        tools=_tools(genre, job) if genre.format == "chat" else None,
        principle_id=job.principle_id,
        persona_id=job.ai_id,
        attributes={
            **job.attributes,
            "about": job.about,
            "author_id": job.author_id,
            "author_role": job.author_role,
            "audience_id": job.audience_id,
            "round": job.round,
            "seed": job.seed,
            "target_tokens": job.target_tokens,
        },
        model=final.model,
        backend=final.backend,
        stage_models=[
            {"stage": s.name, "model": outputs[s.name].model}
            for s in stages_for(genre, provider)
            if s.name in outputs
        ],
        created_at=datetime.fromtimestamp(final.created_at, UTC).isoformat(timespec="seconds"),
        truncated=final.stop_reason == "max_tokens",
    )


def _messages(corpus: Corpus, job: Job, outputs: dict[str, StageOutput]) -> list[dict[str, Any]]:
    genre = corpus.genres[job.genre]
    parsed = {
        s.name: parse_output(s, outputs[s.name].text, job)
        for s in stages_for(genre, corpus.spec.backend.provider)
        if s.name in outputs
    }
    context = job_context(corpus, job, parsed)
    out = []
    for spec in genre.messages:
        content = ""
        if spec.stage:
            content = parsed.get(spec.stage) or parsed.get(spec.fallback, "")
        if not content and spec.template:  # also what a stage that did not run falls back to
            content = render(spec.template, context, f"{job.genre} messages")
        if not content:
            continue
        expanded = parse_transcript(content) if spec.parse == "transcript" else None
        out.extend(expanded or [{"role": spec.role, "content": content.strip()}])
    return out


def _tools(genre: Genre, job: Job) -> list[dict[str, Any]] | None:
    if genre.tools is None:
        return None
    return definitions_in(job.attributes.get(genre.tools.attribute, "")) or None
