"""`WordChunk.of` cuts words from bytes and numbers them with Arrow; it must give
exactly what numbering `base.words` through a dict gives (the implementation it
replaced, kept here as the reference), and the stop-word and language filters
answering a chunk at once must give their per-document answers."""

from __future__ import annotations

import itertools
import random
import subprocess
import sys
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import pytest

from sdf_corpus.clean.filters.base import EN_STOPWORDS, words
from sdf_corpus.clean.filters.chunk import WordChunk, word_chunk
from sdf_corpus.clean.filters.language import LanguageFilter
from sdf_corpus.clean.filters.stopwords import GOPHER_STOPWORDS, StopwordsFilter
from sdf_corpus.document import Document

from .conftest import english
from .test_chunk import _varied

Reference = tuple[list[int], list[int], list[str], list[int]]


def _reference(texts: Sequence[str]) -> Reference:
    """(ids, offsets, vocabulary, lengths) numbered through a dict, first occurrence first."""
    index: defaultdict[str, int] = defaultdict(itertools.count().__next__)
    ids, offsets = [], [0]
    for text in texts:
        ids += [index[w] for w in words(text)]
        offsets.append(len(ids))
    return ids, offsets, list(index), [len(w) for w in index]


def _built(texts: Sequence[str]) -> Reference:
    chunk = WordChunk.of(texts)
    assert chunk.ids.dtype == chunk.offsets.dtype == chunk.vocab.lens.dtype == np.int64
    return (
        chunk.ids.tolist(),
        chunk.offsets.tolist(),
        chunk.vocab.words,
        chunk.vocab.lens.tolist(),
    )


_PIECES = [
    "don't",
    "rock'n'roll",
    "'tis",
    "dogs'",
    "o''k",
    "'",
    "''",
    "x2y",
    "snake_case",
    "__init__",
    "1984",
    "3.14",
    "café",
    "naïve",
    "Ärger",
    "straße",
    "İstanbul",
    "東京タワー",
    "日本語",
    "😀",
    "a😀b",
    "Ελληνικά",
    "l'été",
    "\t",
    "\n\n",
    "\u00a0",
    "\u2003",
    "-",
    "...",
    "THE",
    "The",
    "the",
    "a",
    "aa",
    "aaa",
    "ab",
    "ba",
    "x" * 5000,
    "x" * 5001,
    "y" * 300 + "z",
]


def _generated(seed: int, n: int) -> list[str]:
    """ASCII prose, apostrophes, digits and underscores, non-ASCII words, empty and
    whitespace-only texts, very long words, and repeated texts (the same object and
    an equal copy)."""
    rng = random.Random(seed)
    out = ["", " ", "   \n\t ", "a", "'", "x" * 20000]
    for i in range(n):
        ws = english(seed * 1000 + i, rng.randint(0, 120)).split(" ")
        for _ in range(rng.randint(0, 12)):
            ws.insert(rng.randint(0, len(ws)), rng.choice(_PIECES))
        sep = rng.choice([" ", " ", "  ", "\n", "-", "'", ""])
        out.append(sep.join(ws))
    out += [out[7], "".join(list(out[8])), out[9].upper()]
    return out


TEXTS = _generated(11, 150) + _varied(4, 60)


def test_words_from_bytes_are_the_dict_numbering() -> None:
    assert _built(TEXTS) == _reference(TEXTS)
    assert _built([]) == _reference([])
    assert _built(["", "  ", "1 2 3"]) == _reference(["", "  ", "1 2 3"])
    rng = random.Random(2)
    for _ in range(30):  # other chunk sizes and neighbours: text boundaries never merge words
        texts = rng.sample(TEXTS, rng.randint(1, 25))
        assert _built(texts) == _reference(texts)
    for text in TEXTS:
        assert _built([text]) == _reference([text])


def test_words_that_only_differ_slightly_get_their_own_ids() -> None:
    rng = random.Random(3)
    alphabet = "abé'"
    near = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(3000)]
    texts = [" ".join(near[i : i + 50]) for i in range(0, len(near), 50)]
    texts += ["ab" + "c", "abc", "ab c", "a bc"]  # the same bytes cut in different places
    assert _built(texts) == _reference(texts)


def test_selections_of_the_byte_built_chunk_keep_the_exact_words() -> None:
    texts = list({id(t): t for t in TEXTS}.values())  # `word_chunk` finds texts by identity
    chunk = word_chunk(texts)
    keep = list(range(0, len(texts), 3))
    part = word_chunk([texts[i] for i in keep])
    assert part.vocab is chunk.vocab
    for j, i in enumerate(keep):
        ids = part.ids[part.offsets[j] : part.offsets[j + 1]].tolist()
        assert [part.vocab.words[k] for k in ids] == words(texts[i])
        assert part.words_of(j) == words(texts[i])


def _stopwords_reference(text: str, min_stopwords: int) -> tuple[bool, int | None]:
    """The per-document rule as it was written: (keep, the count noted on a drop)."""
    found = 0
    for w in words(text):
        if w in GOPHER_STOPWORDS:
            found += 1
            if found >= min_stopwords:
                return True, None
    return (True, None) if found >= min_stopwords else (False, found)


@pytest.mark.parametrize("min_stopwords", [0, 1, 2, 5])
def test_stopwords_chunk_matches_the_per_document_rule(min_stopwords: int) -> None:
    texts = [*TEXTS, "the the", "the", "apple banana", "The THE tHe and of"]
    docs = [Document(id=f"d{i}", text=t) for i, t in enumerate(texts)]
    verdicts = StopwordsFilter(min_stopwords).check_many(docs)
    dropped = 0
    for doc, verdict in zip(docs, verdicts, strict=True):
        keep, found = _stopwords_reference(doc.text, min_stopwords)
        assert verdict == (True, None) if keep else (False, "no_stopwords")
        assert doc.quality == ({} if keep else {"stopwords": {"found": found}})
        dropped += not keep
    assert dropped > (0 if min_stopwords else -1)
    alone = [Document(id="x", text=t) for t in texts[:40]]
    f = StopwordsFilter(min_stopwords)
    assert [f.check(d) for d in alone] == verdicts[:40]


def _prescreen_reference(f: LanguageFilter, text: str) -> str | None:
    ws = words(text[: f.sample_chars * 2])[:150]
    if len(ws) < 20:
        return None
    share = sum(map(EN_STOPWORDS.__contains__, ws)) / len(ws)
    if share >= f.min_share:
        return "en"
    if share < f.max_share:
        return "not-en"
    return None


@pytest.mark.parametrize("sample_chars", [600, 40, 53])
def test_language_prescreen_chunk_matches_the_per_text_rule(sample_chars: int) -> None:
    # Cuts that split a word ("the" cut to "th") must count as before.
    f = LanguageFilter(sample_chars=sample_chars, min_share=0.2, max_share=0.1)
    texts = [*TEXTS, ("x" * 9 + " the ") * 40, "the " * 300, "la " * 300, "la " * 30 + "the " * 30]
    answers = f._prescreen(texts)
    assert answers == [_prescreen_reference(f, t) for t in texts]
    assert {"en", "not-en", None} <= set(answers)


def test_building_a_chunk_does_not_import_pandas() -> None:
    """pyarrow's `to_numpy` probes for pandas (~0.2 s) unless the process ran
    `startup.skip_pandas_probe`; the chunk reads Arrow's buffers instead."""
    script = (
        "import sys\n"
        "from sdf_corpus.clean.filters.chunk import WordChunk\n"
        "WordChunk.of(['the cat', 'café'])\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
