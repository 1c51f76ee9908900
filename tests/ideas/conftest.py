from __future__ import annotations

# The generation tests' spec on the loopback fake provider, for the pool's builds.
from generate.conftest import fake_spec

__all__ = ["fake_spec"]
