"""docs/genres.md quotes the idea pool's switches with the code's defaults."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sdf_corpus.ideas.config import IdeasSpec

DOC = (Path(__file__).resolve().parents[2] / "docs" / "genres.md").read_text(encoding="utf-8")
_ROW = re.compile(r"^\| `ideas\.([a-z_]+)` \| `([^`]*)` \|", re.MULTILINE)


def test_every_pool_switch_is_documented_with_its_default() -> None:
    documented = {key: json.loads(value) for key, value in _ROW.findall(DOC)}
    defaults = IdeasSpec().model_dump()
    assert documented == defaults
    assert f"**{defaults['threshold']:.2f} (default)**" in DOC
