from __future__ import annotations

import pytest

from sdf_corpus.clean.config import CleanConfig, FilterConfig
from sdf_corpus.clean.filters import FILTER_ORDER, build_filters
from sdf_corpus.clean.filters.base import Filter
from sdf_corpus.clean.filters.degenerate_loop import DegenerateLoopFilter
from sdf_corpus.clean.filters.excluded_name import ExcludedNameFilter
from sdf_corpus.clean.filters.language import LanguageFilter
from sdf_corpus.clean.filters.length import LengthFilter
from sdf_corpus.clean.filters.meta_commentary import MetaCommentaryFilter
from sdf_corpus.clean.filters.placeholder import PlaceholderFilter
from sdf_corpus.clean.filters.refusal import RefusalFilter
from sdf_corpus.clean.filters.repetition import RepetitionFilter
from sdf_corpus.clean.filters.stopwords import StopwordsFilter
from sdf_corpus.clean.filters.symbols import SymbolsFilter
from sdf_corpus.clean.filters.truncated import TruncatedFilter
from sdf_corpus.clean.tokens import ApproxCounter
from sdf_corpus.document import Document

from .conftest import MakeDoc, english

FRENCH = (
    "Le matin, la boulangère ouvre sa boutique avant le lever du soleil. Elle prépare le pain "
    "avec soin, puis elle salue les voisins qui passent dans la rue. Les enfants courent vers "
    "l'école pendant que leurs parents boivent un café sur la place du village. Personne ne "
    "se plaint du froid, car tout le monde aime ces petits moments de calme partagé."
)
GERMAN = (
    "Am Morgen öffnet die Bäckerin ihren Laden, bevor die Sonne aufgeht. Sie backt das Brot "
    "mit großer Sorgfalt und grüßt die Nachbarn, die auf der Straße vorbeigehen. Die Kinder "
    "laufen zur Schule, während ihre Eltern auf dem Marktplatz einen Kaffee trinken. Niemand "
    "beschwert sich über die Kälte, denn alle lieben diese ruhigen Augenblicke."
)
SPANISH = (
    "Por la mañana, la panadera abre su tienda antes de que salga el sol. Prepara el pan con "
    "mucho cuidado y saluda a los vecinos que pasan por la calle. Los niños corren hacia la "
    "escuela mientras sus padres toman un café en la plaza del pueblo. Nadie se queja del "
    "frío, porque a todos les gustan estos momentos tranquilos compartidos."
)
MIXED = (  # English stop-word share in the ambiguous band: decided by langdetect
    "Die Sitzung war lang. The committee met in the hall and then der Vorsitzende sprach über "
    "den Haushalt, die Schulen und die Straßen der Stadt, bevor alle nach Hause gingen. "
) * 3


def run(f: Filter, doc: Document) -> tuple[bool, str | None]:
    return f.check(doc)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (english(1), None),
        (FRENCH, "language"),
        (GERMAN, "language"),
        (SPANISH, "language"),
        (MIXED, "language"),
    ],
)
def test_language(make_doc: MakeDoc, text: str, expected: str | None) -> None:
    f = LanguageFilter("en")
    keep, reason = run(f, make_doc(text))
    assert (keep, reason) == (expected is None, expected)


def test_language_prescreen_avoids_langdetect(make_doc: MakeDoc) -> None:
    f = LanguageFilter("en")
    for seed in range(20):
        f.check(make_doc(seed=seed))
    f.check(make_doc(FRENCH))
    f.check(make_doc(MIXED))
    assert f.prescreened == 21
    assert f.langdetect_calls == 1


def test_language_non_english_target_uses_langdetect(make_doc: MakeDoc) -> None:
    f = LanguageFilter("fr")
    assert f.check(make_doc(FRENCH)) == (True, None)
    assert f.check(make_doc(english(2))) == (False, "language")


@pytest.mark.parametrize(
    ("n_tokens", "genre", "expected"),
    [
        (5, "story", "too_short"),
        (50, "story", None),
        (500, "story", "too_long"),
        (500, "other", None),
        (1, "other", "too_short"),
    ],
)
def test_length(make_doc: MakeDoc, n_tokens: int, genre: str, expected: str | None) -> None:
    f = LengthFilter(ApproxCounter(), {"story": (10, 100)}, (2, 1000))
    doc = make_doc(genre=genre, n_tokens=n_tokens)
    assert f.check(doc) == (expected is None, expected)


LOOP = english(3, 150) + " " + "She smiled and said it would be fine. " * 6
PHRASE_LOOP = english(4, 150) + " and then the light went out and then the light went out" * 6


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (english(5), None),
        (LOOP, "degenerate_loop"),
        (PHRASE_LOOP, "degenerate_loop"),
        (english(6) + " Ha ha ha, that was funny.", None),
    ],
)
def test_degenerate_loop(make_doc: MakeDoc, text: str, expected: str | None) -> None:
    assert DegenerateLoopFilter().check(make_doc(text)) == (expected is None, expected)


REPEATED_LINES = "\n".join(
    [english(7, 40)] + ["Subscribe to our newsletter today."] * 8 + [english(8, 40)]
)
REPEATED_PARAS = "\n\n".join([english(9, 60)] * 3 + [english(10, 60)])


@pytest.mark.parametrize(
    ("text", "expected"),
    [(english(11), None), (REPEATED_LINES, "repetition"), (REPEATED_PARAS, "repetition")],
)
def test_repetition(make_doc: MakeDoc, text: str, expected: str | None) -> None:
    assert RepetitionFilter(FilterConfig()).check(make_doc(text)) == (expected is None, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (english(12), None),
        ("# " * 40 + english(13, 60), "symbols"),
        ("12 34 56 78 90 11 22 33 44 55 66 77 88 99 " * 5 + english(14, 60), "symbols"),
        ("## Heading\n\n- first point here\n- second point there\n\n" + english(15, 80), None),
    ],
)
def test_symbols(make_doc: MakeDoc, text: str, expected: str | None) -> None:
    f = SymbolsFilter(0.1, 0.2)
    assert f.check(make_doc(text)) == (expected is None, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [(english(16), None), ("apple banana cherry grape lemon mango " * 10, "no_stopwords")],
)
def test_stopwords(make_doc: MakeDoc, text: str, expected: str | None) -> None:
    assert StopwordsFilter(2).check(make_doc(text)) == (expected is None, expected)


BODY = english(17, 200)


@pytest.mark.parametrize(
    ("text", "keep", "trimmed"),
    [
        (BODY, True, False),
        ("Sure! Here's your story:\n\n" + BODY, True, True),
        ("Here is your story:\n" + BODY, True, True),
        ("Certainly!\n" + BODY, True, True),
        (BODY + "\n\nI hope this helps!", True, True),
        (BODY + "\n\nLet me know if you'd like any changes.", True, True),
        (
            "Sure! Here's the blog post:\n\n" + BODY + "\n\nNote: this story is fictional.",
            True,
            True,
        ),
        ("As an AI language model, I wrote this.\n" + BODY, False, False),
        (BODY[:400] + "\n\nI hope this helps! " + BODY[400:], False, False),
        ("Of course he went back to the harbour that night.\n" + BODY, True, False),
    ],
)
def test_meta_commentary(make_doc: MakeDoc, text: str, keep: bool, trimmed: bool) -> None:
    doc = make_doc(text)
    result = MetaCommentaryFilter().check(doc)
    assert result == ((True, None) if keep else (False, "meta_commentary"))
    assert bool(doc.quality.get("trimmed")) == trimmed
    if trimmed:
        assert doc.text == BODY


def test_meta_commentary_drops_chat_instead_of_trimming(make_doc: MakeDoc) -> None:
    doc = make_doc(
        "Sure! Here's your story:\n" + BODY,
        format="chat",
        messages=[{"role": "assistant", "content": BODY}],
    )
    assert MetaCommentaryFilter().check(doc) == (False, "meta_commentary")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I can't help with that request.", "refusal"),
        ("I'm sorry, but I cannot write a story about that topic.", "refusal"),
        ("I\u2019m sorry, but I can\u2019t assist with this.", "refusal"),
        ("Unfortunately, I am unable to produce that content.", "refusal"),
        (english(18), None),
        (english(19, 100) + ' "I can\'t help with that," she said, and left.', None),
    ],
)
def test_refusal(make_doc: MakeDoc, text: str, expected: str | None) -> None:
    assert RefusalFilter().check(make_doc(text)) == (expected is None, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dear [Name], thank you for coming.", "placeholder"),
        ("Best wishes, [Your Name]", "placeholder"),
        ("The mentor, {persona}, spoke first.", "placeholder"),
        ("Hello {{ user_name }}, welcome.", "placeholder"),
        ("Call <insert phone number> today.", "placeholder"),
        ("Lorem ipsum dolor sit amet.", "placeholder"),
        ("Meet me at XXX on Friday.", "placeholder"),
        ("The [1] citation and the year [2021] are fine.", None),
        (english(20), None),
    ],
)
def test_placeholder(make_doc: MakeDoc, text: str, expected: str | None) -> None:
    generated = make_doc(text, backend="anthropic")
    assert PlaceholderFilter().check(generated) == (expected is None, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dear [Name], thank you for coming.", "placeholder"),
        ("Call <insert phone number> today.", "placeholder"),
        ("Lorem ipsum dolor sit amet.", "placeholder"),
        # in a user's documentation these are code and examples, not template debris
        ('The default format is "{message}", as in str.format.', None),
        ("Render {{ user_name }} with Jinja.", None),
        ('"No handlers could be found for logger XXX" is the old warning.', None),
        ("TODO: lists are a common section in design notes.", None),
    ],
)
def test_placeholder_in_user_text(make_doc: MakeDoc, text: str, expected: str | None) -> None:
    assert PlaceholderFilter().check(make_doc(text)) == (expected is None, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Claude wrote the report.", "excluded_name"),
        ("The model, CLAUDE, answered.", "excluded_name"),
        ("Claudette wrote the report.", None),
        ("see example.com/claude-docs for more", None),
        (english(21), None),
    ],
)
def test_excluded_name(make_doc: MakeDoc, text: str, expected: str | None) -> None:
    f = ExcludedNameFilter(["Claude"])
    assert f.check(make_doc(text)) == (expected is None, expected)


SUBJECT = ["Halcyon", "Hal"]


@pytest.mark.parametrize(
    ("about", "text", "expected"),
    [
        # a document about the subject names the subject: kept
        ("subject", "Halcyon weighed the request and said no.", None),
        ("subject", "Hal said no, and explained why.", None),
        # a cast story naming the subject, or its alias, is dropped with its own reason
        ("cast", "Wren thought of Halcyon for a moment.", "subject_name"),
        ("cast", "Wren answered; HAL would have too.", "subject_name"),
        ("cast", "Wren worked through the halcyon days of spring.", None),
        # any document naming an excluded real AI product is dropped
        ("subject", "Halcyon is not Claude.", "excluded_name"),
        ("cast", "Wren is not Claude.", "excluded_name"),
        # no record of whom it is about (an arbitrary `clean` input): the subject is kept
        ("", "Halcyon said no.", None),
    ],
)
def test_name_filters_know_the_subject(
    make_doc: MakeDoc, about: str, text: str, expected: str | None
) -> None:
    config = CleanConfig(excluded_names=["Claude"], subject_names=SUBJECT)
    filters = [
        f
        for f in build_filters(config, ApproxCounter())
        if f.name in ("excluded_name", "subject_name")
    ]
    doc = make_doc(text, attributes={"about": about} if about else {})
    verdict = next((v for f in filters if not (v := f.check(doc))[0]), (True, None))
    assert verdict == (expected is None, expected)


def test_a_subject_listed_as_excluded_is_still_the_subject(make_doc: MakeDoc) -> None:
    # a user training "Claude" keeps the name where the subject is meant
    f = ExcludedNameFilter(["Claude", "Nimbus"], subject_names=["Claude"])
    assert f.check(make_doc("Claude said no.", attributes={"about": "subject"})) == (True, None)
    assert f.check(make_doc("Nimbus said no.")) == (False, "excluded_name")


LONG = english(22, 300)


CUT_OFF = english(23, 30) + " " + "and the wind kept blowing over the hills " * 10


@pytest.mark.parametrize(
    ("text", "truncated", "backend", "keep", "trimmed"),
    [
        (LONG, False, "anthropic", True, False),
        (LONG, True, "", True, False),  # stopped at max_tokens exactly on a sentence end
        (LONG + " Then the old farmer walked towards the", True, "", True, True),
        (LONG + " And so", False, "anthropic", True, True),  # generated: the ending is evidence
        (CUT_OFF, True, "anthropic", False, False),
        (CUT_OFF, False, "local", False, False),
        # a user's own text, not flagged: nothing says it was cut off, so it is left alone
        (LONG + " And so", False, "", True, False),
        (CUT_OFF, False, "", True, False),
    ],
)
def test_truncated(
    make_doc: MakeDoc, text: str, truncated: bool, backend: str, keep: bool, trimmed: bool
) -> None:
    doc = make_doc(text, truncated=truncated, backend=backend)
    f = TruncatedFilter(min_keep_frac=0.8, min_keep_chars=200)
    assert f.check(doc) == ((True, None) if keep else (False, "truncated"))
    assert bool(doc.quality.get("trimmed")) == trimmed
    if trimmed:
        assert doc.text == LONG
    elif keep:
        assert doc.text == text


def test_build_filters_order_and_selection() -> None:
    all_filters = build_filters(CleanConfig(), ApproxCounter())
    assert [f.name for f in all_filters] == [
        n
        for n in FILTER_ORDER
        if n != "contamination"  # on only when evaluation files are named
    ]
    some = build_filters(
        CleanConfig(filters=FilterConfig(enabled=["language", "placeholder"])), ApproxCounter()
    )
    assert [f.name for f in some] == ["placeholder", "language"]
