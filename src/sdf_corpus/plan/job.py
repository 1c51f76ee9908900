"""A Job: one document to be, fully determined before anything is spent."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Job"]


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    index: int  # position in the plan (generation and output order)
    round: int  # 0 for the first plan; top-up rounds count up
    corpus: str
    genre: str
    principle_id: str
    ai_id: str
    author_id: str
    author_role: str
    audience_id: str
    about: str = ""  # "subject" | "cast" ("" when the genre has no AI character)
    attributes: dict[str, str] = field(default_factory=dict)
    seed: int = 0
    target_tokens: int = 0

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, blob: str) -> Job:
        data: dict[str, Any] = json.loads(blob)
        return cls(**data)


def job_id(fields: dict[str, Any], fingerprint: str) -> str:
    """Content address: every field that shapes the requests plus the prompts' fingerprint."""
    blob = json.dumps(fields, sort_keys=True, ensure_ascii=False) + "\x00" + fingerprint
    return hashlib.blake2b(blob.encode(), digest_size=12).hexdigest()
