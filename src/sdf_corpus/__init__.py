"""sdf-corpus: turn a written constitution into a training-ready SDF corpus.

The flow, one module per stage: spec -> plan -> generate -> clean (dedup,
filter, shard) -> report. Each stage is usable from Python and from the CLI.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
