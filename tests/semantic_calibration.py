"""The semantic step's calibration set (tests/data/semantic_calibration/: short pieces in
stories.yaml, pieces of a build's length in long_stories.yaml, whose story ids start with
"long-") as documents, and how a clean run scored on it. Test data, shared by
tests/clean/test_semantic.py and benchmarks/bench_semantic.py."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sdf_corpus.document import Document

__all__ = [
    "LONG",
    "SHORT",
    "Score",
    "calibration_documents",
    "repo_prose_pieces",
    "score",
]

_DIR = Path(__file__).resolve().parent / "data" / "semantic_calibration"
SHORT = _DIR / "stories.yaml"  # 80-150 words a piece
LONG = _DIR / "long_stories.yaml"  # 300-700 words a piece
LONG_PREFIX = "long-"


def calibration_documents(
    *files: Path,
) -> tuple[list[Document], dict[str, str]]:
    """Every piece of `files` (default: the short and the long set) as a document of one
    genre, and each document's story (group id)."""
    docs: list[Document] = []
    story: dict[str, str] = {}
    for path in files or (SHORT, LONG):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for group in data["groups"]:
            for i, text in enumerate(group["pieces"]):
                doc_id = f"{group['id']}/{i}"
                docs.append(Document(id=doc_id, text=" ".join(text.split()), genre=data["genre"]))
                story[doc_id] = group["id"]
    return docs, story


@dataclass(frozen=True)
class Score:
    rewordings: int  # documents that retell a story another document also tells
    merged: int  # of them, dropped as a repeat of a document of the same story
    false_merges: int  # documents dropped as a repeat of another story
    stories: int
    stories_kept: int  # stories with at least one document kept

    @property
    def recall(self) -> float:
        return self.merged / self.rewordings if self.rewordings else 1.0


def score(
    story: dict[str, str], kept: set[str], rejected: list[dict[str, Any]], part: str = ""
) -> Score:
    """How the semantic drops in `rejected` match the stories; `part` "short" or "long"
    scores only the documents of that set (a drop counts where the dropped one is)."""
    if part:
        story = {i: s for i, s in story.items() if s.startswith(LONG_PREFIX) == (part == "long")}
        rejected = [r for r in rejected if r["id"] in story]
        kept = kept & story.keys()
    sizes: dict[str, int] = {}
    for group in story.values():
        sizes[group] = sizes.get(group, 0) + 1
    drops = [r for r in rejected if r["reason"] == "semantic_duplicate"]
    merged = sum(story[r["id"]] == story.get(r["duplicate_of"]) for r in drops)
    return Score(
        rewordings=sum(n - 1 for n in sizes.values()),
        merged=merged,
        false_merges=len(drops) - merged,
        stories=len(sizes),
        stories_kept=len({story[i] for i in kept}),
    )


REPO_PROSE = _DIR / "repo_prose.jsonl"
WORDS = 500


def repo_prose_pieces() -> list[Document]:
    """This repository's own prose in 500-word pieces of one genre: different texts on
    one subject, none a retelling of another.

    The pieces are frozen in repo_prose.jsonl (the first 30 of constitution/example.md,
    README.md and docs/*.md in that order, cut at commit b726d64) rather than read from the
    live files: a test's outcome must not move when someone edits the docs."""
    docs = []
    for line in REPO_PROSE.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        docs.append(Document(id=row["id"], text=row["text"], genre="docs", n_tokens=WORDS))
    return docs
