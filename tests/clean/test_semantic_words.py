"""The semantic step's text features (`clean.semantic_words`): its words are the filters'
words, read with their case from the original text, and the vectors reach the main process
unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from sdf_corpus.clean import workers
from sdf_corpus.clean.config import CleanConfig
from sdf_corpus.clean.filters.base import words
from sdf_corpus.clean.filters.chunk import word_chunk, word_hashes
from sdf_corpus.clean.semantic_words import content_features
from sdf_corpus.document import Document
from sdf_corpus.embed import load_embedder
from semantic_calibration import calibration_documents


def _set(*ws: str) -> set[int]:
    return {int(h) & 0xFFFFFFFF for h in word_hashes(list(ws))}


def _sets(texts: list[str]) -> list[set[int]]:
    _, sets = content_features(texts, load_embedder())
    return [set(np.frombuffer(s, dtype=np.uint32).tolist()) for s in sets]


def test_words_are_the_filters_words() -> None:
    texts = [
        "the nurse didn't wait; rock'n'roll played on the ward's old radio until 'tis late",
        "über die straße: café, naïve — “quoted” don’t stop",
        "digits 42 and_underscores split-words here",
        "",
    ]
    _, sets = content_features(texts, load_embedder())
    for text, got in zip(texts, sets, strict=True):
        hashes = np.frombuffer(got, dtype=np.uint32)
        assert list(hashes) == sorted(hashes)  # sorted, as the overlap needs
        assert set(hashes.tolist()) == _set(*set(words(text)))


def test_a_paragraph_break_does_not_join_two_words() -> None:
    (got,) = _sets(["The ward was quiet in the evening.\n\nHowever, the nurse waited."])
    assert _set("evening", "however") <= got
    assert not _set("eveninghowever") & got


def test_dotted_tokens_are_not_words() -> None:
    (got,) = _sets(["See clean.md for the office rules, e.g. the U.S. ones, at example.com."])
    assert _set("see", "for", "the", "office", "rules", "ones", "at") <= got
    assert not _set("clean", "md", "e", "g", "u", "s", "example", "com") & got


def test_names_are_found_with_apostrophes_and_in_other_scripts() -> None:
    text = "Then Über asked O'Brien. I said the MRI was fine, and O'Brien thanked Über."
    (got,) = _sets([text])
    assert not _set("über", "o'brien") & got  # capitalised mid-sentence, never lower case
    assert _set("then", "i", "mri", "said", "asked") <= got  # opens a sentence, all capitals


def test_a_text_whose_lower_case_changes_its_words_keeps_its_neighbours_names() -> None:
    # "İ".lower() is two characters, so the filters see two words where the text has one:
    # that text's words are all kept (no names), the other texts' names are still found
    odd = "We met Tamsin in İzmir, and Tamsin smiled."
    plain = "We met Dana at the ward, and Dana smiled."
    got = _sets([plain, odd, plain])
    assert not _set("dana") & got[0] and not _set("dana") & got[2]
    assert _set("tamsin", "smiled") <= got[1]


def test_the_filters_chunk_gives_what_a_fresh_one_gives() -> None:
    texts = [d.text for d in calibration_documents()[0]][:40]
    word_chunk(["another chunk"])
    fresh = content_features(texts[::2], load_embedder())
    word_chunk(texts)  # as the filters number the whole chunk, then the step asks for a part
    reused = content_features(texts[::2], load_embedder())
    assert fresh[1] == reused[1]
    assert np.array_equal(fresh[0], reused[0])


@pytest.mark.parametrize("semantic", [True, False])
def test_workers_send_vectors_that_hold_the_same(semantic: bool) -> None:
    config = CleanConfig.model_validate({"semantic": {"enabled": semantic}})
    originals = calibration_documents()[0][:20]
    fresh = lambda: [Document(id=d.id, text=d.text) for d in originals]  # noqa: E731
    local, _ = workers.Preparer(config, None).prepare(fresh())
    workers._init_worker(config, None)  # this process as a pool's worker
    docs = fresh()
    sent, _ = workers._unslim(docs, workers._prepare_in_worker(docs))
    for a, b in zip(local, sent, strict=True):
        assert (a.vector is None) == (b.vector is None) == (not semantic)
        if a.vector is not None and b.vector is not None:
            assert b.vector.dtype == np.float16  # what the semantic step holds
            assert np.array_equal(a.vector.astype(np.float16), b.vector.astype(np.float16))
            assert a.words == b.words


def test_every_way_of_counting_gives_the_same_features(monkeypatch: pytest.MonkeyPatch) -> None:
    from sdf_corpus.clean import semantic_words

    texts = [d.text for d in calibration_documents()[0]]
    want = content_features(texts, load_embedder())
    for dense, table, fill in ((10**9, 1 << 23, 8), (0, 1 << 23, 0), (0, 0, 10**9)):
        monkeypatch.setattr(semantic_words, "_DENSE_KEYS", dense)
        monkeypatch.setattr(semantic_words, "_TABLE_KEYS", table)
        monkeypatch.setattr(semantic_words, "_DENSE_FILL", fill)
        got = content_features(texts, load_embedder())
        assert got[1] == want[1]
        assert np.allclose(got[0], want[0], atol=1e-6)
