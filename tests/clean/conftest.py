from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sdf_corpus.document import Document
from textsynth import TextSynth

MakeDoc = Callable[..., Document]


def english(seed: int, n_words: int = 300) -> str:
    return TextSynth(seed).document(n_words)


@pytest.fixture
def make_doc() -> MakeDoc:
    def make(text: str | None = None, seed: int = 0, **fields: Any) -> Document:
        body = english(seed) if text is None else text
        fields.setdefault("id", f"doc-{seed}")
        return Document(text=body, **fields)

    return make
