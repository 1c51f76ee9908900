"""Load a corpus spec and everything it points at into one validated `Corpus`.

Every check that can fail happens here, before anything is spent: YAML syntax,
unknown keys, missing files, unknown genres in `mix`, empty constitutions, and
prompt templates whose variables cannot all be filled.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sdf_corpus.errors import SpecError
from sdf_corpus.io import read_yaml
from sdf_corpus.library import library_dir
from sdf_corpus.spec.constitution import Constitution, load_constitution
from sdf_corpus.spec.genres import Genre, _first_error, load_genre
from sdf_corpus.spec.models import CorpusSpec
from sdf_corpus.spec.personas import PersonaLibrary, load_personas
from sdf_corpus.targets import check_stage_entries

__all__ = ["Corpus", "apply_override", "load_corpus"]


@dataclass(frozen=True)
class Corpus:
    """A spec with its constitution, genres and personas loaded and cross-checked."""

    spec: CorpusSpec
    path: Path
    constitution: Constitution
    genres: dict[str, Genre]  # in spec order
    personas: PersonaLibrary
    genre_paths: dict[str, Path]

    @property
    def run_dir(self) -> Path:
        return self.spec.output

    def weights(self) -> dict[str, float]:
        return {name: self.spec.mix.get(name, 1.0) for name in self.genres}

    def spec_hash(self) -> str:
        blob = json.dumps(self.spec.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def load_corpus(path: Path, overrides: list[str] | None = None, out: Path | None = None) -> Corpus:
    raw = _read_spec(path)
    for item in overrides or []:
        apply_override(raw, item)
    base = path.resolve().parent
    _resolve_paths(raw, base, path)
    if out is not None:
        raw["output"] = str(out.resolve())
    try:
        spec = CorpusSpec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(str(path), _first_error(exc)) from None
    constitution = load_constitution(spec.constitution)
    genres: dict[str, Genre] = {}
    loaded_from: dict[str, Path] = {}
    for gpath in [_genre_path(name, base, path) for name in spec.genres]:
        genre = load_genre(gpath)
        if genre.name in loaded_from:
            first = loaded_from[genre.name]
            files = f"both {gpath}" if first == gpath else f"from {first} and {gpath}"
            raise SpecError(
                str(path),
                f"field genres: genre {genre.name!r} is listed twice ({files})",
                "list it once, or rename one (its `name:` key, or the file)",
            )
        loaded_from[genre.name] = gpath
        genres[genre.name] = _with_overrides(genre, spec.genre_overrides.get(genre.name), path)
    genre_paths = {name: loaded_from[name] for name in genres}
    _check_cross_refs(spec, genres, path)
    check_stage_entries(spec, genres, path)
    personas = load_personas(
        _persona_files(spec.personas, path), spec.excluded_names, spec.subject.names()
    )
    corpus = Corpus(spec, path, constitution, genres, personas, genre_paths)
    _check_personas(corpus)
    from sdf_corpus.prompts import check_templates  # late: prompts imports this module

    check_templates(corpus)
    _check_judge(corpus)
    return corpus


def _check_judge(corpus: Corpus) -> None:
    judge = corpus.spec.judge
    if not judge.enabled:
        return
    from sdf_corpus.judge.backend import judge_backend_spec
    from sdf_corpus.judge.rubric import load_rubric

    judge_backend_spec(corpus)  # refuses a local base model as judge
    rubric = load_rubric(judge.rubric, corpus.path.resolve().parent)
    ids = {c.id: c for c in rubric.criteria}
    for criterion, minimum in judge.min_scores.items():
        if criterion not in ids:
            raise SpecError(
                str(corpus.path),
                f"field judge.min_scores: unknown criterion {criterion!r}",
                f"use one of {sorted(ids)}",
            )
        lo, hi = ids[criterion].scale
        if not lo <= minimum <= hi:
            raise SpecError(
                str(corpus.path),
                f"field judge.min_scores.{criterion}: {minimum} is outside the scale {lo}-{hi}",
            )


def _read_spec(path: Path) -> dict[str, Any]:
    raw = read_yaml(path, "a corpus spec")
    if not isinstance(raw, dict):
        raise SpecError(str(path), "a corpus spec must be a YAML mapping of keys to values")
    return raw


def apply_override(raw: dict[str, Any], item: str) -> None:
    """Apply one `--set dotted.key=value` (value parsed as YAML) to the raw spec."""
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise SpecError("--set", f"{item!r} is not KEY=VALUE", "e.g. --set budget.tokens=5000")
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        raise SpecError("--set", f"value of {key} is not valid YAML: {value!r}") from None
    node = raw
    parts = key.strip().split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise SpecError(
                "--set", f"{key}: {part!r} is not a mapping, cannot set a key inside it"
            )
        node = child
    node[parts[-1]] = parsed


def _resolve_paths(raw: dict[str, Any], base: Path, spec_path: Path) -> None:
    constitution = raw.get("constitution")
    if isinstance(constitution, str) and not _looks_like_path(constitution):
        raw["constitution"] = str(
            _library_file(
                "constitution",
                constitution,
                ".md",
                spec_path,
                missing="no built-in constitution",
                or_else="a path to a .md or .yaml file",
            )
        )
    elif isinstance(constitution, str):
        raw["constitution"] = str((base / constitution).resolve())
    personas = raw.get("personas")
    if isinstance(personas, str):
        personas = [personas]
    if isinstance(personas, list):
        raw["personas"] = [
            str(library_dir("personas")) if p == "builtin" else str((base / str(p)).resolve())
            for p in personas
        ]
    if isinstance(raw.get("output"), str):
        raw["output"] = str((base / raw["output"]).resolve())
    clean = raw.get("clean")
    decont = clean.get("decontamination") if isinstance(clean, dict) else None
    probes = raw.get("probes")
    for node, key in ((decont, "files"), (decont, "ignore"), (probes, "check_corpus")):
        if isinstance(node, dict) and isinstance(node.get(key), list):
            node[key] = [str((base / str(p)).resolve()) for p in node[key]]


def _looks_like_path(value: str) -> bool:
    return "/" in value or value.endswith((".md", ".yaml", ".yml"))


def _genre_path(name: str, base: Path, spec_path: Path) -> Path:
    if _looks_like_path(name):
        candidate = (base / name).resolve()
        if not candidate.is_file():
            raise SpecError(
                str(spec_path),
                f"field genres: genre file {name!r} not found (looked for {candidate})",
                "paths in a spec or --set resolve against the spec file's folder",
            )
        return candidate
    return _library_file(
        "genres",
        name,
        ".yaml",
        spec_path,
        missing="unknown genre",
        or_else="a path to a genre YAML file",
    )


def _library_file(
    kind: str, name: str, suffix: str, spec_path: Path, *, missing: str, or_else: str
) -> Path:
    """A built-in library file by its bare name, or an error listing the names there are."""
    candidate = library_dir(kind) / f"{name}{suffix}"
    if candidate.is_file():
        return candidate
    names = ", ".join(sorted(p.stem for p in library_dir(kind).glob(f"*{suffix}")))
    raise SpecError(
        str(spec_path), f"field {kind}: {missing} {name!r}", f"use one of: {names}, or {or_else}"
    )


def _with_overrides(genre: Genre, update: dict[str, Any] | None, spec_path: Path) -> Genre:
    if not update:
        return genre
    allowed = {
        "rewrite",
        "injection",
        "reasoning",
        "length",
        "attributes",
        "output",
        "local",
        "about",
        "subject_share",
        "stages",  # which model each stage runs on: read by sdf_corpus.targets, not the genre
    }
    update = {k: v for k, v in update.items() if k != "stages"}
    unknown = set(update) - allowed
    if unknown:
        raise SpecError(
            str(spec_path),
            f"field genre_overrides.{genre.name}: cannot override {sorted(unknown)}",
            f"allowed: {sorted(allowed)}",
        )
    base = genre.model_dump()
    if "about" in update and "subject_share" not in update:
        base.pop("subject_share")  # a new `about` brings its own default share
    try:
        return Genre.model_validate(_deep_merge(base, update))
    except ValidationError as exc:
        raise SpecError(
            str(spec_path), f"genre_overrides.{genre.name}: {_first_error(exc)}"
        ) from None


def _deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "attributes":
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _check_cross_refs(spec: CorpusSpec, genres: dict[str, Genre], path: Path) -> None:
    for name in spec.mix:
        if name not in genres:
            raise SpecError(
                str(path),
                f"field mix: {name!r} is not one of the spec's genres",
                "add it to `genres` or remove it from `mix`",
            )
    for name in spec.genre_overrides:
        if name not in genres:
            raise SpecError(
                str(path), f"field genre_overrides: {name!r} is not one of the spec's genres"
            )


def _persona_files(paths: list[Path], spec_path: Path) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
            if not found:
                raise SpecError(str(spec_path), f"field personas: no YAML files in {p}")
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            raise SpecError(
                str(spec_path),
                f"field personas: {p} does not exist",
                "paths in a spec or --set resolve against the spec file's folder",
            )
    return files


def _check_personas(corpus: Corpus) -> None:
    lib = corpus.personas
    needs = {use for g in corpus.genres.values() for use in g.uses}
    for use, have in (("ai", lib.ai), ("author", lib.authors), ("audience", lib.audiences)):
        if use in needs and not have:
            raise SpecError(
                str(corpus.path),
                f"field personas: a genre uses '{use}' personas but none were loaded",
                f"add a persona file with kind: {use}",
            )
