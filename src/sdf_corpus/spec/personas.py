"""Persona library: AI characters, human authors/narrators/hosts, and audiences.

Files under `personas/` are YAML mappings with a `kind` and a list of personas.
AI characters carry distinct names from many cultures because corpora that
reuse one name collapse onto it; names the spec excludes (default: "Claude")
are refused here, at load time. A character that shares a name with the spec's
subject is left out of the cast: the subject's name means the subject, and a
user picking a name should not have to edit the shared library first.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sdf_corpus.errors import SpecError
from sdf_corpus.io import read_yaml
from sdf_corpus.spec.genres import _first_error

__all__ = ["SUBJECT_ID", "AICharacter", "Audience", "Author", "PersonaLibrary", "load_personas"]

SUBJECT_ID = "subject"  # the persona id of jobs about the spec's subject; reserved


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AICharacter(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    pronouns: str = "it/its"
    origin: str = Field("", description="the language or culture the name comes from")
    role: str = Field(min_length=1, description="what it does and for whom")
    setting: str = Field("", description="where it is deployed")
    traits: list[str] = Field(min_length=1)
    voice: str = Field("", description="how it speaks and thinks")


class Author(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    pronouns: str = "they/them"
    background: str = Field(min_length=1)
    voice: str = ""
    roles: list[str] = Field(min_length=1, description="blogger, journalist, host, ...")


class Audience(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)


class _AIFile(_Strict):
    kind: Literal["ai"]
    personas: list[AICharacter] = Field(min_length=1)


class _AuthorFile(_Strict):
    kind: Literal["author"]
    personas: list[Author] = Field(min_length=1)


class _AudienceFile(_Strict):
    kind: Literal["audience"]
    personas: list[Audience] = Field(min_length=1)


_FILE_MODELS: dict[str, type[_Strict]] = {
    "ai": _AIFile,
    "author": _AuthorFile,
    "audience": _AudienceFile,
}


class PersonaLibrary(BaseModel):
    model_config = ConfigDict(frozen=True)

    ai: list[AICharacter]
    authors: list[Author]
    audiences: list[Audience]


def load_personas(
    paths: list[Path], excluded_names: Sequence[str], subject_names: Sequence[str] = ()
) -> PersonaLibrary:
    """Load every persona file, refusing duplicate ids and excluded AI names."""
    ai: list[AICharacter] = []
    authors: list[Author] = []
    audiences: list[Audience] = []
    seen: dict[str, Path] = {}
    subject = {n.casefold() for n in subject_names}
    banned = {n.casefold() for n in excluded_names} - subject
    for path in paths:
        parsed = _load_file(path)
        for persona in parsed.personas:  # type: ignore[attr-defined]
            if persona.id in seen:
                raise SpecError(
                    str(path), f"persona id {persona.id!r} also defined in {seen[persona.id]}"
                )
            seen[persona.id] = path
            if isinstance(persona, AICharacter):
                if persona.id == SUBJECT_ID:
                    raise SpecError(
                        str(path),
                        f"AI character id {SUBJECT_ID!r} is reserved for the spec's subject",
                        "give the character another id",
                    )
                if persona.name.casefold() in subject:
                    continue
                if persona.name.casefold() in banned:
                    raise SpecError(
                        str(path),
                        f"AI character {persona.id!r} is named {persona.name!r}, an excluded name",
                        "rename it or change excluded_names in the spec",
                    )
                ai.append(persona)
            elif isinstance(persona, Author):
                authors.append(persona)
            else:
                audiences.append(persona)
    return PersonaLibrary(ai=ai, authors=authors, audiences=audiences)


def _load_file(path: Path) -> _Strict:
    raw: Any = read_yaml(path, "a persona file")
    kind = raw.get("kind") if isinstance(raw, dict) else None
    model = _FILE_MODELS.get(str(kind))
    if model is None:
        raise SpecError(
            str(path), f"field kind: must be one of {sorted(_FILE_MODELS)}, got {kind!r}"
        )
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(str(path), _first_error(exc)) from None
