"""A judge rubric: criteria on small integer scales, the prompt that asks for
them, and strict parsing of the judge's answer.

An answer is accepted only if it is one JSON object whose scores are integers
on each criterion's scale (or null where the criterion does not apply to the
genre) with a justification for each; anything else is a `JudgeParseError`, so
an unparseable answer is retried and finally recorded as unjudged, never
silently scored.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sdf_corpus.errors import SpecError
from sdf_corpus.io import read_yaml, shown
from sdf_corpus.library import library_dir
from sdf_corpus.prompts import render
from sdf_corpus.spec.genres import _first_error

__all__ = ["Criterion", "JudgeParseError", "Judgement", "Rubric", "load_rubric"]


class Criterion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    applies_to: Literal["all"] | list[str] = "all"  # "all" or genre families/names
    scale: tuple[int, int] = (1, 5)
    question: str
    anchors: dict[int, str] = Field(default_factory=dict)

    def applies(self, genre: str, family: str) -> bool:
        return self.applies_to == "all" or genre in self.applies_to or family in self.applies_to


class Rubric(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: int = 1
    system: str = ""
    criteria: list[Criterion] = Field(min_length=1)
    prompt: str
    path: str = ""

    def digest(self) -> str:
        blob = json.dumps(self.model_dump(exclude={"path"}), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def render(self, *, document: str, genre: str, family: str, principle: dict[str, str]) -> str:
        criteria = [{**c.model_dump(), "applies": c.applies(genre, family)} for c in self.criteria]
        context = {
            "document": document,
            "genre": genre,
            "principle": principle,
            "criteria": criteria,
        }
        return render(self.prompt, context, f"{self.path or self.name} prompt")

    def parse(self, text: str, *, genre: str, family: str) -> Judgement:
        blob = _json_object(text)
        try:
            answer = _Answer.model_validate(blob)
        except ValidationError as exc:
            raise JudgeParseError(
                f"answer does not match the schema: {_first_error(exc)}"
            ) from None
        scores: dict[str, int | None] = {}
        for c in self.criteria:
            scores[c.id] = self._score(c, answer, genre, family)
            if scores[c.id] is not None and not answer.justifications.get(c.id, "").strip():
                raise JudgeParseError(f"no justification for {c.id!r}")
        return Judgement(
            scores=scores,
            justifications={
                c.id: answer.justifications.get(c.id, "").strip() for c in self.criteria
            },
        )

    @staticmethod
    def _score(c: Criterion, answer: _Answer, genre: str, family: str) -> int | None:
        value = answer.scores.get(c.id)
        if not c.applies(genre, family):
            return None
        if value is None:
            raise JudgeParseError(f"criterion {c.id!r} applies to {genre} but has no score")
        lo, hi = c.scale
        if not lo <= value <= hi:
            raise JudgeParseError(f"{c.id} score {value} is outside {lo}-{hi}")
        return value


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    scores: dict[str, int | None]
    justifications: dict[str, str] = Field(default_factory=dict)


class Judgement(BaseModel):
    scores: dict[str, int | None]
    justifications: dict[str, str]


class JudgeParseError(ValueError):
    """The judge's answer is not a valid scored JSON object."""


_FENCE = re.compile(r"```(?:json)?\s*(\{.*\})\s*```", re.DOTALL)


def _json_object(text: str) -> Any:
    """The answer's JSON object, tolerating a code fence or a line of preamble."""
    match = _FENCE.search(text)
    if match:
        candidate = match.group(1)
    else:
        start, end = text.find("{"), text.rfind("}")
        if start < 0:
            raise JudgeParseError("no JSON object in the answer")
        candidate = text[start : end + 1] if end > start else text[start:]
    try:
        blob = json.loads(candidate)
    except json.JSONDecodeError as exc:
        raise JudgeParseError(f"not valid JSON: {exc.msg} at char {exc.pos}") from None
    if not isinstance(blob, dict):
        raise JudgeParseError("the answer is JSON but not an object")
    return blob


def load_rubric(name_or_path: str, base: Path | None = None) -> Rubric:
    if "/" in name_or_path or name_or_path.endswith((".yaml", ".yml")):
        path = (
            (base / name_or_path)
            if base and not Path(name_or_path).is_absolute()
            else Path(name_or_path)
        )
    else:
        path = library_dir("rubrics") / f"{name_or_path}.yaml"
    if not path.is_file():
        raise SpecError(shown(path), "rubric not found", "use judge.rubric: default or a path")
    raw = read_yaml(path, "a rubric")
    if not isinstance(raw, dict):
        raise SpecError(str(path), "a rubric must be a YAML mapping", "see rubrics/default.yaml")
    try:
        rubric = Rubric.model_validate({**raw, "path": str(path)})
    except ValidationError as exc:
        raise SpecError(str(path), _first_error(exc)) from None
    return rubric
