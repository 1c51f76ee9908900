from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]

pytest_plugins = ["fakeprovider.plugin"]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests never reach a real provider: no key from the developer's shell leaks in.
    for var in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[..., Path]:
    """Write a corpus spec into tmp_path from a base that uses the built-in libraries."""

    def write(name: str = "spec.yaml", **fields: Any) -> Path:
        spec: dict[str, Any] = {
            "name": "t",
            "constitution": str(REPO / "constitution" / "example.md"),
            "genres": ["blog_post", "news_article"],
            "personas": str(REPO / "personas"),
            "budget": {"tokens": 20000},
            "backend": {"provider": "anthropic", "model": "claude-haiku-4-5"},
            "seed": 7,
            "output": str(tmp_path / "run"),
        }
        spec.update(fields)
        path = tmp_path / name
        path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
        return path

    return write
