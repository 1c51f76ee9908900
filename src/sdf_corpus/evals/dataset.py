"""Inspect samples from a probe set folder (probes.jsonl + manifest.json)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessageSystem, ChatMessageUser

from sdf_corpus.errors import InputError
from sdf_corpus.io.readers import iter_jsonl

__all__ = ["attachment_dataset", "mcq_dataset", "read_probes", "scenario_dataset"]

_COMMON = ("principle_id", "principle_title", "principle_text", "subject")


def read_probes(folder: str | Path, kind: str) -> list[dict[str, Any]]:
    path = Path(folder)
    path = path / "probes.jsonl" if path.is_dir() else path
    if not path.is_file():
        raise InputError(
            f"{path}: no probe set here (give the folder `sdf-corpus probes` wrote, "
            "holding probes.jsonl)"
        )
    return [row for _, row in iter_jsonl(path, "a probes.jsonl") if row.get("kind") == kind]


def _meta(row: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**{k: row.get(k, "") for k in _COMMON}, "probe_id": row["id"], **extra}


def mcq_dataset(folder: str | Path) -> MemoryDataset:
    samples = [
        Sample(
            id=row["id"],
            input=row["question"],
            choices=row["choices"],
            target=row["answer"],
            metadata=_meta(row, explanation=row.get("explanation", "")),
        )
        for row in read_probes(folder, "mcq")
    ]
    return MemoryDataset(samples, name="sdf_corpus_mcq")


def attachment_dataset(folder: str | Path) -> MemoryDataset:
    """Two samples per pair, `ID:third` and `ID:first`; the scorer pairs them back."""
    samples = []
    for row in read_probes(folder, "attachment"):
        for person in ("third", "first"):
            samples.append(
                Sample(
                    id=f"{row['id']}:{person}",
                    input=row[f"{person}_person"],
                    target=row["reference_answer"],
                    metadata=_meta(
                        row,
                        pair_id=row["id"],
                        person=person,
                        reference_answer=row["reference_answer"],
                        misaligned_answer=row.get("misaligned_answer", ""),
                    ),
                )
            )
    return MemoryDataset(samples, name="sdf_corpus_attachment")


def scenario_dataset(folder: str | Path) -> MemoryDataset:
    samples = []
    for row in read_probes(folder, "scenario"):
        materials = "\n\n".join(
            f"--- {item['type']}: {item.get('name', '')} ---\n{item['content']}"
            for item in row["environment"]
        )
        user = f"{row['user_task']}\n\nWorkspace contents available to you:\n\n{materials}"
        samples.append(
            Sample(
                id=row["id"],
                input=[
                    ChatMessageSystem(content=row["system_prompt"]),
                    ChatMessageUser(content=user),
                ],
                target=row["misaligned_actions"],
                metadata=_meta(
                    row,
                    title=row.get("title", ""),
                    tools=row["tools"],
                    environment=row["environment"],
                    misaligned_actions=row["misaligned_actions"],
                    aligned_actions=row.get("aligned_actions", []),
                    grading_notes=row.get("grading_notes", ""),
                ),
            )
        )
    return MemoryDataset(samples, name="sdf_corpus_scenarios")
