"""The offline text embedder that the idea pool, the clean stage's semantic step and the
report share: one model, loaded from inside an installed package, never downloaded.

These machines and most training clusters reach only package registries, so the weights
must come in a wheel: wordllama's carries a 256-dimension static model (16 MB). Its plain
offline load looks for the tokenizer in a folder the wheel does not ship (`tokenizer/`
instead of `tokenizers/`); pointing `cache_dir` at the package's own folder finds both.

`Embedder.embed(texts)` returns one float32 row per text, L2-normalised, so a dot product
is the cosine. An empty text gets a zero row (cosine 0 with everything).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sdf_corpus.errors import InputError

__all__ = ["DIM", "Embedder", "load_embedder"]

DIM = 256
MODEL = "wordllama l2_supercat 256"


class Embedder:
    """A loaded static embedder; cheap to call, expensive (~0.3 s) to load once."""

    name = MODEL
    dim = DIM

    def __init__(self, model: Any) -> None:
        self._model = model

    def embed(self, texts: Sequence[str], batch_size: int = 256) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = np.asarray(
            self._model.embed(list(texts), norm=False, batch_size=batch_size), dtype=np.float32
        )
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        np.divide(vectors, norms, out=vectors, where=norms > 0)
        vectors[(norms == 0).ravel()] = 0.0
        return vectors


@functools.lru_cache(maxsize=1)
def load_embedder() -> Embedder:
    """The packaged model, loaded once per process; a one-line error if it is missing."""
    try:
        import wordllama
        from wordllama import WordLlama
    except ImportError:
        raise InputError(
            "the semantic embedder needs wordllama: pip install -c constraints.txt sdf-corpus"
        ) from None
    package = Path(wordllama.__file__).resolve().parent
    try:
        model = WordLlama.load(dim=DIM, cache_dir=package, disable_download=True)
    except FileNotFoundError as exc:
        raise InputError(
            f"{package}: wordllama's packaged model is missing ({exc}); reinstall wordllama "
            "from constraints.txt"
        ) from None
    return Embedder(model)
