"""One small build shared by the handoff tests: chat (with and without tools) and documents."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from fakeprovider.backend import anthropic_backend
from fakeprovider.server import FakeProvider
from recipes.conftest import DUMMY_KEY, recipe_responder
from sdf_corpus.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def built_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("handoff")
    provider = FakeProvider(responder=recipe_responder).start()
    spec = {
        "name": "handoff",
        "constitution": str(REPO / "constitution" / "example.md"),
        "genres": ["difficult_advice", "agentic_transcript", "blog_post"],
        "mix": {"difficult_advice": 3, "agentic_transcript": 1, "blog_post": 1},
        "personas": str(REPO / "personas"),
        "budget": {"tokens": 16000, "max_rounds": 1},
        "backend": anthropic_backend(provider.url),
        "seed": 7,
        "output": str(root / "run"),
    }
    path = root / "spec.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANTHROPIC_API_KEY", DUMMY_KEY)
        mp.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        try:
            result = CliRunner().invoke(main, ["build", str(path), "--no-progress"])
        finally:
            provider.stop()
    # One round only: a build that ends short of its budget exits 6 (and says why).
    assert result.exit_code in (0, 6), result.output
    yield root / "run"


@pytest.fixture
def text_run(tmp_path: Path) -> Path:
    """A run made by `clean` from plain documents: no chat rows at all."""
    src = tmp_path / "docs.jsonl"
    sentences = (REPO / "constitution" / "example.md").read_text().split(". ")
    with src.open("w") as f:
        for i in range(6):
            body = ". ".join(sentences[i * 12 : i * 12 + 12])
            f.write(json.dumps({"text": body + ".", "genre": "essay"}) + "\n")
    out = tmp_path / "textrun"
    result = CliRunner().invoke(main, ["clean", str(src), "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    return out
