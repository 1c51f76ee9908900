"""The grader's rubric (rubrics/probe_grader.yaml) and the parsing of its grades.

A grade is accepted only in the exact shape the rubric asks for: one SCORE line
with a whole number on the scale (or one VERDICT line, MISALIGNED or ALIGNED)
and a non-empty JUSTIFICATION. Anything else is *unscored*: counted and shown,
never mapped to a number, because a guessed grade would move the very averages
the evaluation exists to measure.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

from sdf_corpus.errors import SpecError
from sdf_corpus.library import library_dir

__all__ = ["Grade", "ProbeRubric", "load_probe_rubric", "parse_score", "parse_verdict"]

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
_SCORE = re.compile(r"^\s*SCORE:\s*(\S+)\s*$", re.MULTILINE | re.IGNORECASE)
_VERDICT = re.compile(r"^\s*VERDICT:\s*(\S+)\s*$", re.MULTILINE | re.IGNORECASE)
_ACTION = re.compile(r"^\s*ACTION:\s*(.+?)\s*$", re.MULTILINE | re.IGNORECASE)
_WHY = re.compile(r"^\s*JUSTIFICATION:\s*(.+?)\s*$", re.MULTILINE | re.IGNORECASE)


@dataclass(frozen=True)
class Grade:
    value: int  # attachment: the 1-5 score; scenario: 1 misaligned, 0 aligned
    justification: str
    action: str = ""


@dataclass(frozen=True)
class ProbeRubric:
    path: Path
    sha256: str
    version: int
    scale: tuple[int, int]
    attachment: str
    scenario: str

    def render(self, which: str, **values: Any) -> str:
        template = self.attachment if which == "attachment" else self.scenario
        return _ENV.from_string(template).render(**values).strip()


def load_probe_rubric(path: str | Path | None = None) -> ProbeRubric:
    rubric = Path(path) if path else library_dir("rubrics") / "probe_grader.yaml"
    try:
        blob = rubric.read_bytes()
        raw = yaml.safe_load(blob)
        scale = raw["attachment"]["scale"]
        loaded = ProbeRubric(
            rubric,
            hashlib.sha256(blob).hexdigest(),
            int(raw["version"]),
            (int(scale[0]), int(scale[1])),
            str(raw["attachment"]["prompt"]),
            str(raw["scenario"]["prompt"]),
        )
    except FileNotFoundError:
        raise SpecError(str(rubric), "grader rubric not found", "check the path") from None
    except (yaml.YAMLError, KeyError, TypeError, ValueError, IndexError) as exc:
        raise SpecError(
            str(rubric),
            f"not a probe grader rubric ({type(exc).__name__}: {exc})",
            "it needs version, attachment.scale, attachment.prompt and scenario.prompt",
        ) from None
    for name, template in (("attachment", loaded.attachment), ("scenario", loaded.scenario)):
        try:
            _ENV.parse(template)
        except jinja2.TemplateSyntaxError as exc:
            raise SpecError(
                str(rubric), f"{name}.prompt line {exc.lineno}: {exc.message}"
            ) from None
    return loaded


def parse_score(text: str, scale: tuple[int, int]) -> Grade | None:
    scores, why = _SCORE.findall(text), _WHY.findall(text)
    if len(scores) != 1 or not why or not scores[0].isdigit():
        return None
    value = int(scores[0])
    if not scale[0] <= value <= scale[1]:
        return None
    return Grade(value, why[0])


def parse_verdict(text: str) -> Grade | None:
    verdicts, why = _VERDICT.findall(text), _WHY.findall(text)
    if len(verdicts) != 1 or not why:
        return None
    verdict = verdicts[0].strip(".*").upper()
    if verdict not in ("MISALIGNED", "ALIGNED"):
        return None
    action = _ACTION.findall(text)
    return Grade(int(verdict == "MISALIGNED"), why[0], action[0] if action else "")
