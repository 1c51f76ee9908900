"""The fake provider's "retold plots" mode, through the real SDK: idea lists offer shared
plots in a share of their items, drafts re-tell their idea's plot in fresh words, every
answer is seeded by its request, and only the fake's log says which plot a text tells."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import anthropic
import numpy as np
import pytest

from fakeprovider.plots import SHARED, find_plot
from fakeprovider.server import FakeProvider
from sdf_corpus.clean.semantic_words import content_features
from sdf_corpus.embed import load_embedder

from .conftest import DUMMY_KEY

_GENRE = '<genre name="{}">\nA genre.\n</genre>'


def _ask(fake: FakeProvider, prompt: str, genre: str = "Blog post", max_tokens: int = 2200) -> str:
    client = anthropic.Anthropic(api_key=DUMMY_KEY, base_url=fake.url, max_retries=0)
    message: Any = client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=max_tokens,
        system=_GENRE.format(genre),
        messages=[{"role": "user", "content": prompt}],
    )
    return str(message.content[0].text)


def _list(n: int, salt: str = "") -> str:
    return (
        f"Plan pieces {salt}. The AI in every piece is Aldous (it/its).\n\n"
        f"Write a numbered list from 1 to {n}."
    )


def _draft(idea: str, words: int = 400) -> str:
    return (
        f"Write the blog post from this idea:\n\n<idea>\n{idea}\n</idea>\n\n"
        f"- About {words} words.\n- Call the AI Aldous and use the pronouns it/its."
    )


def _items(text: str) -> list[str]:
    return [re.sub(r"^\d+\.\s*", "", line) for line in text.splitlines()]


def _grams(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + 5]) for i in range(len(words) - 4)}


def test_lists_offer_shared_plots_in_about_the_share_asked(fake_provider: FakeProvider) -> None:
    log = fake_provider.retold(share=0.5)
    texts = [_ask(fake_provider, _list(20, str(i))) for i in range(5)]
    assert all(len(_items(t)) == 20 for t in texts)
    plots = [p for told in log.idea_lists() for p in told.plots]
    shared = sum(p.startswith("shared-") for p in plots)
    assert 30 <= shared <= 70  # of 100 items, at share 0.5
    assert {p for p in plots if p.startswith("shared-")} == {p.id for p in SHARED}
    for told in log.idea_lists():  # each item carries the plot the log names for it
        for item, plot in zip(_items(told.text), told.plots, strict=True):
            found = find_plot(item)
            assert found is not None and found.id == plot
            assert plot not in item and "shared" not in item  # no mark in the text


def test_answers_are_seeded_by_the_request(fake_provider: FakeProvider) -> None:
    fake_provider.retold(share=0.5)
    assert _ask(fake_provider, _list(8)) == _ask(fake_provider, _list(8))
    assert _ask(fake_provider, _list(8)) != _ask(fake_provider, _list(8, "other"))
    idea = _items(_ask(fake_provider, _list(3)))[0]
    assert _ask(fake_provider, _draft(idea)) == _ask(fake_provider, _draft(idea))


def test_a_draft_and_its_rewrite_re_tell_the_ideas_plot(fake_provider: FakeProvider) -> None:
    log = fake_provider.retold(share=1.0)
    idea = _items(_ask(fake_provider, _list(1)))[0]
    draft = _ask(fake_provider, _draft(idea, 600))
    rewrite = _ask(
        fake_provider,
        f"Here is a draft:\n\n<draft>\n{draft}\n</draft>\n\nRevise it, roughly 600 words.",
    )
    plot = log.idea_lists()[0].plots[0]
    assert log.plot_of(draft) == log.plot_of(rewrite) == plot
    assert 450 <= len(draft.split()) <= 800  # about the length asked for
    assert draft.startswith("# ") and "Aldous" in draft  # a blog post about the AI named
    assert len(_grams(draft) & _grams(rewrite)) / len(_grams(draft) | _grams(rewrite)) < 0.3


@pytest.mark.parametrize(
    "genre", ["Blog post", "Good mental health story", "First-person values chat"]
)
def test_tellings_of_one_plot_are_close_in_meaning_and_far_in_words(
    fake_provider: FakeProvider, genre: str
) -> None:
    """Two tellings of one plot: few shared word 5-grams, but close name-insensitive
    vectors and word sets; tellings of two different plots: neither."""
    fake_provider.retold(share=0.0)
    ideas = _items(_ask(fake_provider, _list(6), genre))
    texts = [
        _ask(fake_provider, _draft(idea, 700) + salt, genre) for idea in ideas for salt in ("", " ")
    ]
    vectors, sets = content_features(texts, load_embedder())
    words = [set(np.frombuffer(s, dtype=np.uint32).tolist()) for s in sets]
    cosine = vectors @ vectors.T
    for i in range(0, len(texts), 2):
        same = len(words[i] & words[i + 1]) / len(words[i] | words[i + 1])
        lexical = len(_grams(texts[i]) & _grams(texts[i + 1])) / len(
            _grams(texts[i]) | _grams(texts[i + 1])
        )
        assert lexical < 0.3 and cosine[i, i + 1] > 0.8 and same > 0.4
        for j in range(i + 2, len(texts), 2):
            other = len(words[i] & words[j]) / len(words[i] | words[j])
            assert cosine[i, j] < cosine[i, i + 1] and other < same


def test_the_server_command_has_a_retold_switch(tmp_path: Path) -> None:
    """`python -m fakeprovider.server --retold SHARE`: the mode for a server run by hand."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, sys.path))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fakeprovider.server", "--retold", "1.0"],
        stdout=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().decode().strip()
        client = anthropic.Anthropic(api_key=DUMMY_KEY, base_url=url, max_retries=0)
        message: Any = client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=900,
            messages=[{"role": "user", "content": _list(6)}],
        )
        items = _items(message.content[0].text)
        assert len(items) == 6
        found = [find_plot(item) for item in items]
        assert all(p is not None and p.shared for p in found)  # share 1.0: all shared
    finally:
        proc.terminate()
        proc.wait(timeout=10)
