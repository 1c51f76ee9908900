"""Quality filters, each its own module with one stable reason code.

`build_filters` returns them in the order the pipeline runs them: the
structural chat check, cheap pattern checks, then text-rewriting filters
before the checks that measure the text, decontamination (on when
evaluation files are named) last. Language runs before the stop-word
rule although it costs more: a French text would otherwise be dropped as
`no_stopwords`, hiding the real reason; its cheap pre-screen settles almost
every document anyway.
"""

from __future__ import annotations

from collections.abc import Mapping

from sdf_corpus.clean.config import CleanConfig
from sdf_corpus.clean.filters.base import Filter, Verdict
from sdf_corpus.clean.filters.chat_validity import ChatValidityFilter
from sdf_corpus.clean.filters.degenerate_loop import DegenerateLoopFilter
from sdf_corpus.clean.filters.excluded_name import ExcludedNameFilter
from sdf_corpus.clean.filters.language import LanguageFilter
from sdf_corpus.clean.filters.length import LengthFilter
from sdf_corpus.clean.filters.meta_commentary import MetaCommentaryFilter
from sdf_corpus.clean.filters.placeholder import PlaceholderFilter
from sdf_corpus.clean.filters.refusal import RefusalFilter
from sdf_corpus.clean.filters.repetition import RepetitionFilter
from sdf_corpus.clean.filters.stopwords import StopwordsFilter
from sdf_corpus.clean.filters.subject_name import SubjectNameFilter
from sdf_corpus.clean.filters.symbols import SymbolsFilter
from sdf_corpus.clean.filters.truncated import TruncatedFilter
from sdf_corpus.clean.tokens import TokenCounter
from sdf_corpus.errors import InputError

__all__ = ["FILTER_ORDER", "Filter", "Verdict", "build_filters"]

FILTER_ORDER = (
    "chat_validity",
    "excluded_name",
    "subject_name",
    "placeholder",
    "refusal",
    "meta_commentary",
    "truncated",
    "length",
    "symbols",
    "language",
    "stopwords",
    "degenerate_loop",
    "repetition",
    "contamination",
)


def build_filters(
    config: CleanConfig,
    counter: TokenCounter,
    genre_lengths: Mapping[str, tuple[int, int]] | None = None,
) -> list[Filter]:
    f = config.filters
    every: dict[str, Filter] = {
        "chat_validity": ChatValidityFilter(),
        "excluded_name": ExcludedNameFilter(config.excluded_names, config.subject_names),
        "subject_name": SubjectNameFilter(config.subject_names),
        "placeholder": PlaceholderFilter(),
        "refusal": RefusalFilter(),
        "meta_commentary": MetaCommentaryFilter(f.max_trim_chars),
        "truncated": TruncatedFilter(f.truncated_min_keep_frac, f.truncated_min_keep_chars),
        "length": LengthFilter(
            counter, genre_lengths, (f.default_min_tokens, f.default_max_tokens)
        ),
        "symbols": SymbolsFilter(f.max_symbol_word_ratio, f.max_non_alpha_word_frac),
        "stopwords": StopwordsFilter(f.min_stopwords),
        "degenerate_loop": DegenerateLoopFilter(
            f.max_consecutive_repeats, f.max_repeated_phrase_run
        ),
        "repetition": RepetitionFilter(f),
        "language": LanguageFilter(
            config.language,
            f.prescreen_min_stopword_share,
            f.prescreen_max_stopword_share,
            f.langdetect_sample_chars,
        ),
    }
    d = config.decontamination
    if d.files:  # off unless evaluation files are named
        # late: the index module uses this package's tokeniser
        from sdf_corpus.clean.filters.contamination import ContaminationFilter, load_index

        index = load_index(d.files, d.ngram, d.text_fields, d.ignore)
        every["contamination"] = ContaminationFilter(index, d.min_matches)
    if config.language != "en":
        del every["stopwords"]  # Gopher's stop words are English
    enabled = f.enabled if f.enabled is not None else list(FILTER_ORDER)
    unknown = sorted(set(enabled) - set(FILTER_ORDER))
    if unknown:
        raise InputError(
            f"clean.filters.enabled: unknown filter(s) {unknown} (known: {', '.join(FILTER_ORDER)})"
        )
    # Decontamination is switched by naming files, whatever `enabled` lists.
    enabled = [*enabled, "contamination"]
    return [every[name] for name in FILTER_ORDER if name in enabled and name in every]
