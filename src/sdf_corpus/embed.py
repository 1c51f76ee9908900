"""The offline text embedder that the idea pool, the clean stage's semantic step and the
report share: one model, loaded from inside an installed package, never downloaded.

These machines and most training clusters reach only package registries, so the weights
must come in a wheel: wordllama's carries a 256-dimension static model (16 MB). Its plain
offline load looks for the tokenizer in a folder the wheel does not ship (`tokenizer/`
instead of `tokenizers/`); pointing `cache_dir` at the package's own folder finds both.

`Embedder.embed(texts)` returns one float32 row per text, L2-normalised, so a dot product
is the cosine. An empty text gets a zero row (cosine 0 with everything).

`Embedder.word_vectors(words)` is the fast path beside it: the model is static (a text's
vector is the mean of its tokens' rows), so a caller that already has a text's words can
build its vector from one row per distinct word, looked up once, instead of tokenising
every text again. The clean stage's semantic step does this (`clean/semantic_words.py`):
wordllama's own `embed()` does ~460k tokens/s on one core, too slow for 350M tokens.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from sdf_corpus.errors import InputError

__all__ = ["DIM", "Embedder", "load_embedder"]

DIM = 256
MODEL = "wordllama l2_supercat 256"
_MAX_WORDS = 1 << 18  # remembered words' token ids: ~100 bytes each


class Embedder:
    """A loaded static embedder; cheap to call, expensive (~0.3 s) to load once."""

    name = MODEL
    dim = DIM

    def __init__(self, model: Any) -> None:
        self._model = model
        self._table: npt.NDArray[np.float32] = np.ascontiguousarray(
            model.embedding, dtype=np.float32
        )
        from tokenizers import Tokenizer  # wordllama's own dependency, loaded with it

        tokenizer = Tokenizer.from_str(model.tokenizer.to_str())
        tokenizer.no_padding()  # one word at a time: padding would only be cut off again
        self._tokenizer = tokenizer
        self._pieces: dict[str, tuple[int, ...]] = {}

    def word_vectors(self, words: Sequence[str]) -> npt.NDArray[np.float32]:
        """Per word, the mean of its tokens' rows as the model tokenises it after a space
        (its rows inside running text), not normalised; a word with no token gets zeros.
        Token ids are remembered per word (up to `_MAX_WORDS`, then forgotten at once)."""
        if not words:
            return np.zeros((0, self.dim), dtype=np.float32)
        pieces = self._token_ids(words)
        lens = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
        flat = np.fromiter(itertools.chain.from_iterable(pieces), np.int64, int(lens.sum()))
        bounds = np.zeros(len(pieces) + 1, dtype=np.int64)
        np.cumsum(lens, out=bounds[1:])
        # One sparse product: row i holds 1/len at word i's tokens (a word has a few, and
        # numpy's per-position gathers, or np.add.reduceat over rows, cost more).
        share = np.repeat(1.0 / np.maximum(lens, 1), lens).astype(np.float32)
        mean = sparse.csr_array((share, flat, bounds), shape=(len(pieces), self._table.shape[0]))
        return np.asarray(mean @ self._table, dtype=np.float32)

    def _token_ids(self, words: Sequence[str]) -> list[tuple[int, ...]]:
        known = self._pieces
        new = [w for w in dict.fromkeys(words) if w not in known]
        if new:
            if len(known) + len(new) > _MAX_WORDS:
                known.clear()  # bounded memory; the ids are recomputed when asked again
            encoded = self._tokenizer.encode_batch(new, add_special_tokens=False)
            vocab = self._table.shape[0]
            for word, enc in zip(new, encoded, strict=True):
                known[word] = tuple(i for i in enc.ids if 0 <= i < vocab)
        return [known[w] for w in words]

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
