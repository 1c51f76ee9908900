"""The semantic step's calibration set (tests/data/semantic_calibration/stories.yaml) as
documents, and how a clean run scored on it. Test data, shared by
tests/clean/test_semantic.py and benchmarks/bench_semantic.py."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sdf_corpus.document import Document

__all__ = ["STORIES", "Score", "calibration_documents", "score"]

STORIES = Path(__file__).resolve().parent / "data" / "semantic_calibration" / "stories.yaml"


def calibration_documents() -> tuple[list[Document], dict[str, str]]:
    """Every piece as a document of one genre, and each document's story (group id)."""
    data = yaml.safe_load(STORIES.read_text(encoding="utf-8"))
    docs: list[Document] = []
    story: dict[str, str] = {}
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


def score(story: dict[str, str], kept: set[str], rejected: list[dict[str, Any]]) -> Score:
    """How the semantic drops in `rejected` match the stories."""
    sizes: dict[str, int] = {}
    for group in story.values():
        sizes[group] = sizes.get(group, 0) + 1
    drops = [r for r in rejected if r["reason"] == "semantic_duplicate"]
    merged = sum(story[r["id"]] == story[r["duplicate_of"]] for r in drops)
    return Score(
        rewordings=sum(n - 1 for n in sizes.values()),
        merged=merged,
        false_merges=len(drops) - merged,
        stories=len(sizes),
        stories_kept=len({story[i] for i in kept}),
    )
