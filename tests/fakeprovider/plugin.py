"""pytest fixture for the fake provider.

Register it once in tests/conftest.py with
`from fakeprovider.plugin import fake_provider  # noqa: F401`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fakeprovider.server import FakeProvider


@pytest.fixture
def fake_provider() -> Iterator[FakeProvider]:
    """A started FakeProvider, fresh per test so faults and records never leak."""
    provider = FakeProvider().start()
    try:
        yield provider
    finally:
        provider.stop()
