from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fakeprovider.server import FakeProvider
from runfiles import ledger_rows

__all__ = ["DUMMY_KEY", "ledger_rows"]

DUMMY_KEY = "sk-ant-test-DUMMY-KEY-0123456789"


@pytest.fixture
def fake_spec(
    write_spec: Callable[..., Path], fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Path]:
    """A small spec pointed at the loopback fake provider (anthropic by default)."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", DUMMY_KEY)

    def make(provider: str = "anthropic", **fields: Any) -> Path:
        if provider == "anthropic":
            backend = {
                "provider": "anthropic",
                "model": "claude-haiku-4-5",
                "api_base": fake_provider.url,
            }
        else:
            backend = {
                "provider": "litellm",
                "model": "openai/fake-model",
                "api_base": fake_provider.openai_base,
            }
        backend.update(
            {"concurrency": 4, "timeout": 2.0, "retry_base_delay": 0.02, "retry_max_delay": 0.2}
        )
        backend.update(fields.pop("backend", {}))
        fields.setdefault("genres", ["blog_post", "news_article"])
        fields.setdefault("budget", {"tokens": 6000, "max_rounds": 1})
        return write_spec(backend=backend, **fields)

    return make
