"""Filters that answer a whole chunk at once give, document for document, the
answers of their readable per-document definitions, whatever else is in the chunk."""

from __future__ import annotations

import random
import re

import pytest

from sdf_corpus.clean.config import FilterConfig
from sdf_corpus.clean.filters.base import words
from sdf_corpus.clean.filters.chunk import WordChunk, word_chunk
from sdf_corpus.clean.filters.degenerate_loop import (
    _MAX_PHRASE,
    DegenerateLoopFilter,
    _longest_equal_run,
    _longest_phrase_repeat,
    _units,
)
from sdf_corpus.clean.filters.repetition import (
    RepetitionFilter,
    dup_fractions,
    dup_ngram_frac,
    top_ngram_frac,
)
from sdf_corpus.clean.filters.symbols import _BULLET, _HAS_ALPHA, _token_counts
from sdf_corpus.clean.tokens import ApproxCounter
from sdf_corpus.document import Document

from .conftest import english


def _varied(seed: int, n: int) -> list[str]:
    """Prose with planted loops, repeated blocks and lines, short and empty texts,
    apostrophes and non-ASCII words."""
    rng = random.Random(seed)
    out: list[str] = ["", "   ", "one", "Ha ha ha ha ha ha ha ha ha ha ha ha!"]
    for i in range(n):
        ws = english(seed * 1000 + i, rng.randint(5, 400)).split(" ")
        kind = i % 6
        if kind == 0 and len(ws) > 14:  # a phrase of k words repeated m times
            k, m = rng.randint(1, 13), rng.randint(2, 14)
            at = rng.randrange(len(ws) - k)
            ws[at:at] = ws[at : at + k] * m
        elif kind == 1 and len(ws) > 60:  # a duplicated block
            a = rng.randrange(len(ws) - 60)
            ws += ws[a : a + rng.randint(5, 60)] * rng.randint(1, 4)
        elif kind == 2:  # repeated lines
            ws.append(("\n" + " ".join(ws[:8]) + ".") * rng.randint(1, 6))
        elif kind == 3:
            ws = [w + ("'s" if rng.random() < 0.05 else "") for w in ws]
            ws = [w + ("é" if rng.random() < 0.01 else "") for w in ws]
        elif kind == 4:
            ws = [w for w in ws for _ in range(2 if rng.random() < 0.15 else 1)]
        out.append(" ".join(ws))
    return out


TEXTS = _varied(3, 120)


def _docs(texts: list[str]) -> list[Document]:
    return [Document(id=f"d{i}", text=t) for i, t in enumerate(texts)]


def test_word_chunk_ids_are_exact_and_selections_share_the_tokenisation() -> None:
    texts = TEXTS[:40]
    chunk = WordChunk.of(texts)
    assert chunk.counts.tolist() == [len(words(t)) for t in texts]
    for i, text in enumerate(texts):
        ids = chunk.ids[chunk.offsets[i] : chunk.offsets[i + 1]].tolist()
        assert [chunk.vocab.words[j] for j in ids] == words(text)
    assert chunk.lens.tolist() == [len(w) for t in texts for w in words(t)]
    keep = [1, 5, 6, 30]
    part = chunk.select(keep)
    assert part.texts == tuple(texts[i] for i in keep)
    for j, i in enumerate(keep):
        assert part.words_of(j) == words(texts[i])
        assert (
            part.ids[part.offsets[j] : part.offsets[j + 1]].tolist()
            == chunk.ids[chunk.offsets[i] : chunk.offsets[i + 1]].tolist()
        )
    first = word_chunk(texts)
    again = word_chunk([texts[i] for i in keep])
    assert again.vocab is first.vocab  # a selection, not a second tokenisation
    other = word_chunk(["a text never seen before in this chunk"])
    assert other.vocab is not first.vocab


def _loop_reference(f: DegenerateLoopFilter, text: str) -> tuple[str, int] | None:
    run = _longest_equal_run(_units(text))
    if run > f.max_consecutive_repeats:
        return "sentence_run", run
    ids = WordChunk.of([text]).ids
    for k in range(1, _MAX_PHRASE + 1):
        repeats = _longest_phrase_repeat(ids, k)
        if repeats > f._limit(k):
            return f"phrase_words={k}", repeats
    return None


def test_degenerate_loop_chunk_matches_the_per_text_definition() -> None:
    f = DegenerateLoopFilter()
    docs = _docs(TEXTS)
    verdicts = f.check_many(docs)
    dropped = 0
    for doc, (keep, reason) in zip(docs, verdicts, strict=True):
        expected = _loop_reference(f, doc.text)
        assert keep == (expected is None), doc.text[:80]
        if expected is not None:
            dropped += 1
            assert reason == "degenerate_loop"
            note = doc.quality["degenerate_loop"]
            got = (
                ("sentence_run", note["sentence_run"])
                if "sentence_run" in note
                else (
                    f"phrase_words={note['phrase_words']}",
                    note["phrase_run"],
                )
            )
            assert got == expected
    assert dropped > 10  # the planted loops are there to be found


def _repetition_reference(cfg: FilterConfig, text: str) -> tuple[str, float] | None:
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    paras = [p.strip() for p in re.split(r"\n{2,}", text) if p.strip()]
    for label, items, max_items, max_chars in (
        ("dup_line", lines, cfg.max_dup_line_frac, cfg.max_dup_line_char_frac),
        ("dup_para", paras, cfg.max_dup_para_frac, cfg.max_dup_para_char_frac),
    ):
        frac, char_frac = dup_fractions(items)
        if frac > max_items:
            return f"{label}_frac", frac
        if char_frac > max_chars:
            return f"{label}_char_frac", char_frac
    ws, total = words(text), len(text)
    for n in (2, 3, 4):
        value = top_ngram_frac(ws, n, total)
        if value > cfg.max_top_ngram_frac[n - 2]:
            return f"top_{n}gram_frac", value
    for n in range(5, 11):
        value = dup_ngram_frac(ws, n, total)
        if value > cfg.max_dup_ngram_frac[n - 5]:
            return f"dup_{n}gram_frac", value
    return None


@pytest.mark.parametrize("strict", [False, True])
def test_repetition_chunk_matches_the_readable_rules(strict: bool) -> None:
    cfg = FilterConfig()
    if strict:  # tighter limits, so every rule (and every n) gets to decide some text
        cfg = FilterConfig(
            max_top_ngram_frac=[0.05, 0.04, 0.03],
            max_dup_ngram_frac=[0.06, 0.05, 0.04, 0.03, 0.02, 0.01],
        )
    f = RepetitionFilter(cfg)
    docs = _docs(TEXTS)
    verdicts = f.check_many(docs)
    rules = set()
    for doc, (keep, _) in zip(docs, verdicts, strict=True):
        expected = _repetition_reference(cfg, doc.text)
        assert keep == (expected is None), doc.text[:80]
        if expected is not None:
            note = doc.quality["repetition"]
            assert (note["rule"], note["value"]) == (expected[0], round(expected[1], 3))
            rules.add(note["rule"])
    assert len(rules) >= (5 if strict else 2)


def test_a_chunk_answers_as_its_documents_one_by_one() -> None:
    cfg = FilterConfig(max_dup_ngram_frac=[0.06, 0.05, 0.04, 0.03, 0.02, 0.01])
    for make in (DegenerateLoopFilter, lambda: RepetitionFilter(cfg)):
        together, alone = _docs(TEXTS), _docs(TEXTS)
        batch = make().check_many(together)
        single = [make().check(doc) for doc in alone]
        assert batch == single
        assert [d.quality for d in together] == [d.quality for d in alone]


def _token_counts_reference(text: str) -> tuple[int, int, int]:
    tokens = text.split()
    bullets = sum(1 for t in tokens if _BULLET.match(t))
    return len(tokens), bullets, sum(1 for t in tokens if _HAS_ALPHA.search(t))


def _random_ascii(rng: random.Random, n: int) -> list[str]:
    alphabet = [chr(i) for i in range(128)] + ["ab", " ", "- ", "1. ", "## ", "...", "__"]
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(n)]


def test_words_symbol_and_token_counts_match_their_definitions() -> None:
    texts = TEXTS + _random_ascii(random.Random(5), 3000)
    for text in texts:
        assert _token_counts(text) == _token_counts_reference(text), repr(text)
    counter = ApproxCounter()
    for text in texts + [t.replace(" ", "'") for t in texts[:50]] + ["'tis rock'n'roll o''k"]:
        assert words(text) == re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", text.lower())
        words_ = len(re.findall(r"\w+", text))
        punct = len(re.findall(r"[^\w\s]+", text))
        assert counter.count(text) == round(words_ * 1.3) + punct, repr(text)


def test_long_documents_make_smaller_chunks_with_the_same_verdicts() -> None:
    from sdf_corpus.clean.config import CleanConfig
    from sdf_corpus.clean.workers import _chunks, prepare_chunks

    long_texts = [english(900 + i, 3000) for i in range(12)]
    chunks = list(_chunks(_docs(long_texts), 256, max_chars=50_000))
    assert len(chunks) > 1 and sum(map(len, chunks)) == len(long_texts)
    assert all(sum(len(d.text) for d in c[:-1]) < 50_000 for c in chunks)
    config = CleanConfig(workers=1)
    small = [p for c, _ in prepare_chunks(_docs(long_texts), config, None, 1, 2) for p in c]
    large = [p for c, _ in prepare_chunks(_docs(long_texts), config, None, 1) for p in c]
    assert [(p.drop, p.digest, p.doc.quality) for p in small] == [
        (p.drop, p.digest, p.doc.quality) for p in large
    ]
