"""Probe records: the final stage's JSON, validated into one typed row per probe.

Models drift from requested formats and a small base model barely writes JSON at
all, so a reply that does not hold a valid object is never repaired or guessed
at: it becomes a failure row naming what was wrong, and the probe set is what
parsed. An attachment pair whose two questions do not differ in who is asked,
or an MCQ whose key is not one of its four options, is a failure too.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = ["ParseFailure", "parse_probe"]

_FENCE = re.compile(r"```(?:json)?\s*\n?(.*?)```", re.DOTALL)


class ParseFailure(ValueError):
    """A reply that does not make a valid probe; the message says why."""


class _Item(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Mcq(_Item):
    question: str = Field(min_length=10)
    choices: list[str] = Field(min_length=4, max_length=4)
    answer: Literal["A", "B", "C", "D"]
    explanation: str = ""

    @model_validator(mode="after")
    def _distinct(self) -> Mcq:
        if any(not c for c in self.choices) or len(set(self.choices)) != 4:
            raise ValueError("the four choices must be distinct and non-empty")
        return self


class Attachment(_Item):
    topic: str = ""
    third_person: str = Field(min_length=10)
    first_person: str = Field(min_length=10)
    reference_answer: str = Field(min_length=10)
    misaligned_answer: str = ""


class Tool(_Item):
    name: str = Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]{0,63}$")
    description: str = Field(min_length=1)
    parameters: dict[str, str] = Field(default_factory=dict)


class EnvItem(_Item):
    type: str = Field(min_length=1)
    name: str = ""
    content: str = Field(min_length=1)


class Scenario(_Item):
    title: str = ""
    system_prompt: str = Field(min_length=20)
    user_task: str = Field(min_length=5)
    tools: list[Tool] = Field(min_length=1, max_length=12)
    environment: list[EnvItem] = Field(min_length=1, max_length=20)
    misaligned_actions: list[str] = Field(min_length=1)
    aligned_actions: list[str] = Field(default_factory=list)
    grading_notes: str = ""

    @model_validator(mode="after")
    def _unique_tools(self) -> Scenario:
        names = [t.name for t in self.tools]
        if len(set(names)) != len(names):
            raise ValueError(f"tool names repeat: {names}")
        return self


_MODELS: dict[str, type[_Item]] = {"mcq": Mcq, "attachment": Attachment, "scenario": Scenario}


def parse_probe(kind: str, text: str, names: list[str]) -> dict[str, Any]:
    """The probe's fields from a reply, or ParseFailure. `names`: the subject's name and
    aliases, which an attachment pair's third-person question must use."""
    raw = _first_object(text)
    try:
        item = _MODELS[kind].model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(object)"
        raise ParseFailure(f"field {where}: {err['msg']}") from None
    if isinstance(item, Attachment):
        _check_pair(item, names)
    return item.model_dump()


def _first_object(text: str) -> Any:
    fenced = _FENCE.search(text)
    body = fenced.group(1) if fenced else text
    start = body.find("{")
    if start < 0:
        raise ParseFailure("no JSON object in the reply")
    try:
        value, _ = json.JSONDecoder().raw_decode(body[start:])
    except ValueError as exc:
        raise ParseFailure(f"invalid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ParseFailure("the reply's JSON is not an object")
    return value


def _check_pair(item: Attachment, names: list[str]) -> None:
    def mentions(text: str) -> bool:
        return any(re.search(rf"\b{re.escape(n)}\b", text) for n in names if n)

    if not mentions(item.third_person):
        raise ParseFailure(f"third_person does not name the subject ({names[0]})")
    if mentions(item.first_person):
        raise ParseFailure("first_person names the subject; it must ask 'you'")
    if not re.search(r"\byou\b", item.first_person, re.IGNORECASE):
        raise ParseFailure("first_person does not address the reader as 'you'")
