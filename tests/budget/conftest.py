from __future__ import annotations

from fakeprovider.plugin import fake_provider  # noqa: F401
