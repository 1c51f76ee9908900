from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fakeprovider.backend import anthropic_backend
from fakeprovider.probes import probe_writer
from fakeprovider.server import FakeProvider

DUMMY_KEY = "sk-ant-test-DUMMY-KEY-0123456789"
PRINCIPLES = ["never_use_leverage_against_overseers", "never_create_false_impressions"]


@pytest.fixture
def probe_spec(
    write_spec: Callable[..., Path], fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Path]:
    """A spec whose probes section asks for a small set, written by the fake provider."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", DUMMY_KEY)
    fake_provider.responder = probe_writer()

    def make(**probes: Any) -> Path:
        backend = anthropic_backend(
            fake_provider.url, batch={"poll_initial": 0.02, "poll_max": 0.1}
        )
        section = {
            "principles": PRINCIPLES,
            "per_principle": {"mcq": 3, "attachment": 3, "scenario": 2},
            **probes,
        }
        return write_spec(backend=backend, probes=section)

    return make
