"""The pool's list request for one cell, and reading its answer back into one idea per brief.

The frame is data (`genres/pool/request.yaml`); a genre adds what its ideas must give
(`pool.ask`). The request reuses the genre's idea-stage system prompt and cached genre
block, so its prefix is the one the genre's other requests already cache.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sdf_corpus.chain import shared_prefix
from sdf_corpus.errors import SpecError
from sdf_corpus.io import read_yaml
from sdf_corpus.library import library_dir
from sdf_corpus.plan.job import Job
from sdf_corpus.prompts import job_context, render, render_stage
from sdf_corpus.sampling import Request
from sdf_corpus.spec.genres import Stage
from sdf_corpus.spec.load import Corpus
from sdf_corpus.spec.subject import name_rule

__all__ = ["PoolFrame", "load_frame", "parse_items", "pool_request", "request_id", "summary"]

# Ideas of today's idea stage: its max_tokens buys LIST_ITEMS of them. A pool request
# gives each of its ideas that share with this much headroom (a long list that runs out
# of tokens loses its last briefs, which are then asked again).
LIST_ITEMS = 5
HEADROOM = 1.5
_ITEM = re.compile(
    r"^\s*(?:[*_#]+\s*)?(?:(?:brief|idea|item)\s*)?(?P<n>\d{1,3})\s*[.):\]]\s*(?:[*_]+\s*)?"
    r"(?P<body>.*)$",
    re.IGNORECASE,
)
_BRIEF_LABEL = re.compile(r"^(?:\*\*)?(?:idea\s+for\s+)?brief\s+\d+\s*[:.-]\s*(?:\*\*)?\s*", re.I)


@dataclass(frozen=True)
class PoolFrame:
    prompt: str
    brief: str
    ask: str
    where: str


@functools.lru_cache(maxsize=1)
def load_frame() -> PoolFrame:
    path = library_dir("genres") / "pool" / "request.yaml"
    raw = read_yaml(path, "the idea pool's request frame")
    if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str) for k in _FRAME_KEYS):
        raise SpecError(str(path), f"needs the text keys {', '.join(_FRAME_KEYS)}")
    return PoolFrame(raw["prompt"], raw["brief"], raw["ask"], str(path))


_FRAME_KEYS = ("prompt", "brief", "ask")


def pool_request(
    corpus: Corpus,
    stage: Stage,
    jobs: Sequence[Job],
    taken: Sequence[str],
) -> Request:
    """One list request: a brief per job (one genre, one kind of AI), one idea for each.
    Jobs of one principle get it once; jobs of several get each, numbered, once."""
    frame, first = load_frame(), jobs[0]
    genre = corpus.genres[first.genre]
    where = str(corpus.genre_paths.get(first.genre, first.genre))
    order = list(dict.fromkeys(job.principle_id for job in jobs))
    context = _request_context(corpus, first, order)
    ask = render(genre.pool.ask, context, f"{where} pool.ask") if genre.pool.ask else frame.ask
    numbers = {pid: i for i, pid in enumerate(order, start=1)} if len(order) > 1 else {}
    briefs = [
        render(frame.brief, _brief_context(corpus, job, numbers.get(job.principle_id)), frame.where)
        for job in jobs
    ]
    prompt = render(
        frame.prompt,
        {**context, "n": len(jobs), "briefs": briefs, "ask": " ".join(ask.split()), "taken": taken},
        frame.where,
    )
    system = render_stage(stage, job_context(corpus, first), where)["system"]
    per_idea = stage.max_tokens / LIST_ITEMS * HEADROOM
    return Request(
        prompt=prompt,
        system=system,
        cache_prefix=shared_prefix(corpus, genre, first.about),
        max_tokens=min(64_000, math.ceil(per_idea * len(jobs))),
        temperature=stage.temperature,
        custom_id="",
    )


def request_id(group: str, request: Request, asks: Mapping[str, int]) -> str:
    """Content address of a pool request: its group, its text and how often each of its
    briefs was asked before (a re-ask of the same text is a new request)."""
    tries = ",".join(f"{job}:{n}" for job, n in sorted(asks.items()))
    blob = "\x00".join((group, request.system, request.prompt, str(request.max_tokens), tries))
    return "pool-" + hashlib.blake2b(blob.encode(), digest_size=12).hexdigest()


def _request_context(corpus: Corpus, job: Job, principle_ids: Sequence[str]) -> dict[str, Any]:
    """What the frame shows once for the whole request: a cast request's principles speak
    of "the AI" (each brief names its own character), a subject request's name the subject."""
    context = job_context(corpus, job)
    rule = name_rule(tuple(corpus.spec.subject.names()))
    neutral = rule.neutral if job.about == "cast" else (lambda text: text)
    principles = []
    for pid in principle_ids:
        principle = corpus.constitution.by_id(pid)
        principles.append(
            {"id": pid, "title": neutral(principle.title), "text": neutral(principle.text)}
        )
    context["principles"] = principles
    context["constitution"] = {"title": neutral(corpus.constitution.title)}
    if job.about != "subject":
        context["ai"] = {"name": ""}
    context["cast"] = job.about == "cast"
    return context


def _brief_context(corpus: Corpus, job: Job, principle: int | None) -> dict[str, Any]:
    genre = corpus.genres[job.genre]
    context = job_context(corpus, job)
    empty = {"name": ""}
    return {
        "ai": context["ai"] if job.about == "cast" else empty,
        "author": context["author"] if "author" in genre.uses and job.author_id else empty,
        "audience": context["audience"] if "audience" in genre.uses and job.audience_id else empty,
        "attr": dict(job.attributes),
        "principle": principle or "",
    }


def parse_items(text: str, n: int) -> list[str | None]:
    """The answer's idea for each of `n` briefs, None where it gave none.

    Numbered items go to the brief of their number when the numbers are 1..k without
    repeats; a list numbered otherwise (from 0, with repeats or gaps) is read in order.
    Continuation lines join the item above; extra items past n are ignored."""
    items: list[tuple[int, list[str]]] = []
    for line in text.strip().splitlines():
        if line.lstrip().startswith("```"):
            continue  # a list sent inside a code fence
        match = _ITEM.match(line)
        if match:
            items.append((int(match["n"]), [match["body"].strip()]))
        elif items and line.strip():
            items[-1][1].append(line.strip())
    bodies = [_clean(" ".join(parts)) for _, parts in items]
    numbers = [number for number, _ in items]
    out: list[str | None] = [None] * n
    if len(set(numbers)) == len(numbers) and all(1 <= k <= n for k in numbers):
        for k, body in zip(numbers, bodies, strict=True):
            out[k - 1] = body or None
        return out
    for i, body in enumerate(bodies[:n]):
        out[i] = body or None
    return out


def _clean(body: str) -> str:
    body = _BRIEF_LABEL.sub("", body.strip())
    return body.strip().strip("*_ ").strip()


def summary(text: str, words: int = 28) -> str:
    """An idea's first sentence, cut to `words` words: what a request shows as taken."""
    first = re.split(r"(?<=[.!?])\s+", text.strip(), maxsplit=1)[0]
    parts = first.split()
    return " ".join(parts[:words]) + (" ..." if len(parts) > words else "")
