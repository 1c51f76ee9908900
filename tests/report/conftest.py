from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from fakeprovider.backend import anthropic_backend
from fakeprovider.server import FakeProvider
from fakeprovider.text import idea_list, prose
from report.plots import build_plots_run
from sdf_corpus.cli.build import build

REPO = Path(__file__).resolve().parents[2]
DUMMY_KEY = "sk-ant-test-DUMMY-KEY-0123456789"
_SHARED = prose("one shared draft that several jobs return verbatim", 420)


def responder(prompt: str, body: dict[str, Any]) -> str:
    """Long enough texts to be kept, with a few duplicates, placeholders and stock openings
    mixed in so every report section has something to show."""
    if "numbered list" in prompt.lower():
        return idea_list(prompt)
    h = int(hashlib.sha256(prompt.encode()).hexdigest()[:8], 16)
    if h % 9 == 1:
        return _SHARED  # exact duplicates
    text = prose(prompt, 420)
    if h % 7 == 2:
        text = "Once upon a time, " + text[0].lower() + text[1:]
    if h % 11 == 3:
        text += "\n\nSigned, [Name]"
    return text


def build_run(
    tmp: Path,
    provider: FakeProvider,
    tokens: int = 12000,
    genres: tuple[str, ...] = ("blog_post", "news_article"),
) -> Path:
    spec = {
        "name": "report-test",
        "constitution": str(REPO / "constitution" / "example.md"),
        "genres": list(genres),
        "personas": str(REPO / "personas"),
        "budget": {"tokens": tokens, "max_rounds": 1},
        "backend": anthropic_backend(provider.url, concurrency=8),
        "seed": 7,
        "output": str(tmp / "run"),
    }
    path = tmp / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    result = CliRunner().invoke(build, [str(path), "--no-progress"])
    # One round only: a build that ends short of its budget exits 6 (and says why).
    assert result.exit_code in (0, 6), result.output + str(result.exception)
    assert result.exit_code == 0 or "ended short" in result.output
    return tmp / "run"


@pytest.fixture(scope="session")
def built_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One fake-provider build shared by the read-only report tests."""
    mp = pytest.MonkeyPatch()
    mp.setenv("ANTHROPIC_API_KEY", DUMMY_KEY)
    mp.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    provider = FakeProvider(responder=responder).start()
    try:
        yield build_run(tmp_path_factory.mktemp("report"), provider)
    finally:
        provider.stop()
        mp.undo()


@pytest.fixture(scope="session")
def plots_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Retold and distinct stories in a clean-only run (report/plots.py): the meaning
    figures' known answers."""
    return build_plots_run(tmp_path_factory.mktemp("plots") / "run")
