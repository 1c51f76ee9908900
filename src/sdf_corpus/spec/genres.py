"""Genre library: what each kind of document is, how long, what it draws, and its prompts.

A genre file (`genres/NAME.yaml`) is product, not plumbing: its prompts are the
instructions every generated document is written from. Templates are Jinja2
with strict undefined variables, so a typo in a prompt fails at load time with
the file and field named, before anything is spent. See docs/genres.md for the
variables a template can use.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sdf_corpus.errors import SpecError
from sdf_corpus.io import read_yaml

__all__ = ["Genre", "MessageSpec", "PoolPrompt", "Stage", "ToolDraw", "load_genre"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Stage(_Strict):
    """One sampling step of a genre's chain (e.g. idea -> draft -> rewrite)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    prompt: str = Field(min_length=1, description="Jinja2 template of the user turn")
    system: str = Field("", description="system prompt, kept out of the training text")
    system_injection: str = Field(
        "",
        description="extra system text sent at sampling time only (e.g. to elicit ethical "
        "reasoning); never stored in the training text",
    )
    prefill: str = Field("", description="template the answer must continue (document start)")
    context: str = Field(
        "",
        description="local stage only: text the base model reads before the opening but "
        "that is not stored (e.g. the question a chat answer replies to)",
    )
    max_tokens: int = Field(1024, ge=16, le=64000)
    stop: list[str] = Field(
        default_factory=list,
        description="stop sequences (a base model continuing a Q&A page would write the "
        "next question)",
    )
    temperature: float = Field(1.0, ge=0.0, le=2.0)
    parse: Literal["text", "list"] = Field(
        "text",
        description="text: keep as is; list: pick one item of a numbered/bulleted list "
        "(seeded), falling back to the raw text",
    )
    is_rewrite: bool = Field(
        False, description="the revise-against-the-principle step; skipped when rewrite: false"
    )
    optional_injection: bool = Field(
        True, description="the injection can be switched off with injection: false"
    )
    reasoning_only: bool = Field(
        False, description="a step that adds explicit reasoning; skipped when reasoning: false"
    )


class MessageSpec(_Strict):
    """How a chat-format genre assembles its conversation from stage outputs."""

    role: Literal["system", "user", "assistant", "tool"]
    stage: str = Field("", description="stage whose output is this message's content")
    fallback: str = Field("", description="stage used when `stage` did not run (ablations)")
    template: str = Field(
        "",
        description="a template rendered with the job context, used when `stage` (and "
        "`fallback`) did not run or are not given; a message that renders empty is left out",
    )
    parse: Literal["text", "transcript"] = Field(
        "text",
        description="transcript: expand a tagged transcript ([user], [assistant], [tool_call "
        "name=...], [tool_result name=...]) into many messages; `role` is used for a single "
        "message holding the raw text when it does not parse",
    )


class ToolDraw(_Strict):
    """Tools an agentic genre's jobs are given: expanded at load into an attribute of
    toolsets (one readable line each) that the planner draws per job by its seed."""

    attribute: str = Field(
        "tools",
        pattern=r"^[a-z][a-z0-9_]*$",
        description="attribute that carries each job's toolset",
    )
    min: int = Field(3, ge=1, le=20)
    max: int = Field(6, ge=1, le=20)
    toolsets: int = Field(60, ge=1, le=1000, description="distinct toolsets to draw from")
    pool: list[str] = Field(
        default_factory=list,
        description="tool-name prefixes to draw from; empty: the whole library",
    )


class PoolPrompt(_Strict):
    """A genre's part of the idea pool's list request (genres/pool/request.yaml holds the
    frame every genre shares; docs/genres.md, "The idea pool")."""

    ask: str = Field(
        "",
        description="what each idea must give for this genre (a Jinja template with the "
        "cell's variables); empty: the shared frame's general ask",
    )


PersonaUse = Literal["ai", "author", "audience"]
About = Literal["subject", "cast", "either"]
# Who a genre's AI is when the genre does not say: the research's split. Documents
# written from outside and the chat recipes are about the model being trained (its
# name carries its persona); the stories use invented characters.
_DEFAULT_ABOUT: dict[str, About] = {
    "document": "subject",
    "first_person": "subject",
    "chat": "subject",
    "story": "cast",
}
_SHARE_OF: dict[str, float] = {"subject": 1.0, "cast": 0.0, "either": 0.5}


class Genre(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    family: Literal["document", "story", "chat", "first_person"] = "document"
    format: Literal["document", "chat"] = "document"
    description: str = Field(min_length=1)
    format_notes: str = Field("", description="what a real example of this genre looks like")
    length: dict[Literal["min", "max"], int]
    uses: list[PersonaUse] = Field(default_factory=lambda: list[PersonaUse](["ai"]))
    about: About | None = Field(
        None,
        description="whose story the genre's AI is: the spec's subject, the invented cast, or "
        "either; default by family (story: cast, otherwise subject)",
    )
    subject_share: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="share of jobs about the subject (the rest draw a cast character); "
        "default from `about`: subject 1, cast 0, either 0.5",
    )
    attributes: dict[str, list[str]] = Field(default_factory=dict)
    stages: list[Stage] = Field(min_length=1)
    rewrite: bool = Field(True, description="run the rewrite stage (off only for ablations)")
    injection: bool = Field(True, description="send system injections (off for ablations)")
    reasoning: bool = Field(
        True, description="run reasoning_only stages (false: behaviour-only ablation)"
    )
    tools: ToolDraw | None = Field(None, description="chat genres: tools drawn per job")
    output: str = Field("", description="stage whose text is the document; default: last run")
    messages: list[MessageSpec] = Field(default_factory=list, description="chat genres only")
    local: Stage | None = Field(
        None,
        description="single-stage document-continuation prompt for base models (local backend)",
    )
    pool: PoolPrompt = Field(
        default_factory=PoolPrompt, description="this genre's part of the idea pool's request"
    )

    @model_validator(mode="before")
    @classmethod
    def _who_by_default(cls, raw: Any) -> Any:
        """Fill `about` (by family) and `subject_share` (by `about`) when not given."""
        if not isinstance(raw, dict):
            return raw
        family = raw.get("family", "document")
        about = raw.get("about") or _DEFAULT_ABOUT.get(str(family), "subject")
        share = raw.get("subject_share")
        if share is None:
            share = _SHARE_OF.get(str(about), 1.0)
        return {**raw, "about": about, "subject_share": share}

    @model_validator(mode="before")
    @classmethod
    def _toolsets(cls, raw: Any) -> Any:
        if not isinstance(raw, dict) or not raw.get("tools"):
            return raw
        from sdf_corpus.recipes.tools import toolset_lines  # late: a leaf module, no cycle

        try:
            draw = ToolDraw.model_validate(raw["tools"])
        except ValidationError:
            return raw  # the field's own validation reports it, with its location
        if draw.min > draw.max:
            raise ValueError("tools needs min <= max")
        lines = toolset_lines(
            str(raw.get("name", "")), draw.toolsets, draw.min, draw.max, draw.pool
        )
        return {**raw, "attributes": {**(raw.get("attributes") or {}), draw.attribute: lines}}

    @field_validator("length")
    @classmethod
    def _length_band(cls, value: dict[str, int]) -> dict[str, int]:
        lo, hi = value.get("min"), value.get("max")
        if lo is None or hi is None or not 0 < lo <= hi:
            raise ValueError("length needs 0 < min <= max (tokens)")
        return value

    @field_validator("attributes")
    @classmethod
    def _attribute_values(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for key, options in value.items():
            if not options:
                raise ValueError(f"attribute {key!r} has no values to draw from")
        return value

    @model_validator(mode="after")
    def _stage_names(self) -> Genre:
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            raise ValueError(f"stage names repeat: {names}")
        if self.output and self.output not in names:
            raise ValueError(f"output names stage {self.output!r}, which is not one of {names}")
        for message in self.messages:
            for ref in (message.stage, message.fallback):
                if ref and ref not in names:
                    raise ValueError(f"a message takes stage {ref!r}, not one of {names}")
        if self.format == "chat" and not self.messages:
            raise ValueError("a chat-format genre needs `messages` saying how to assemble them")
        return self

    @property
    def who(self) -> About:
        return self.about or _DEFAULT_ABOUT[self.family]

    def share(self) -> float:
        """Share of this genre's jobs whose AI is the subject (0 when it has no AI)."""
        if "ai" not in self.uses or self.subject_share is None:
            return 0.0
        return self.subject_share

    @property
    def mean_tokens(self) -> int:
        return (self.length["min"] + self.length["max"]) // 2

    def active_stages(self) -> list[Stage]:
        """Stages that run, honouring the `rewrite` and `reasoning` ablation switches."""
        return [
            s
            for s in self.stages
            if (self.rewrite or not s.is_rewrite) and (self.reasoning or not s.reasoning_only)
        ]

    def output_stage(self) -> str:
        active = [s.name for s in self.active_stages()]
        if self.output and self.output in active:
            return self.output
        return active[-1]

    def fingerprint(self) -> str:
        """Hash of everything in the genre that shapes a job's own requests (prompts, params,
        switches). The pool's prompt is left out: a pool request is keyed by its own text,
        so job ids stay those of runs made before the pool (and with `ideas.pool: false`)."""
        blob = json.dumps(self.model_dump(mode="json", exclude={"pool"}), sort_keys=True).encode()
        return hashlib.blake2b(blob, digest_size=16).hexdigest()


def load_genre(path: Path) -> Genre:
    raw: Any = read_yaml(path, "a genre file")
    if not isinstance(raw, dict):
        raise SpecError(str(path), "a genre file must be a YAML mapping")
    raw.setdefault("name", path.stem)
    try:
        return Genre.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(str(path), _first_error(exc)) from None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown key; remove it or check its spelling"
    return f"field {loc}: {msg}"
