"""The clean stage's settings for a corpus: shared by `pipeline.clean_run` and the
budget loop's streaming estimate of what the clean stage will keep."""

from __future__ import annotations

from sdf_corpus.clean.config import CleanConfig
from sdf_corpus.spec.load import Corpus

__all__ = ["LENGTH_BAND_SLACK", "clean_config", "genre_lengths"]

# The clean stage keeps a generated document whose length is within the genre's band
# widened by these factors (docs/clean.md): real documents stray past a band that was
# only a target in the prompt, so only what is far outside it is dropped.
LENGTH_BAND_SLACK = (0.5, 2.0)


def genre_lengths(corpus: Corpus) -> dict[str, tuple[int, int]]:
    """Length bounds the clean stage enforces; the local base model writes short openings."""
    out = {}
    for name, genre in corpus.genres.items():
        lo, hi = genre.length["min"], genre.length["max"]
        if corpus.spec.backend.provider == "local" and genre.local is not None:
            lo, hi = min(lo, max(30, genre.local.max_tokens // 6)), max(hi, genre.local.max_tokens)
        out[name] = (int(lo * LENGTH_BAND_SLACK[0]), int(hi * LENGTH_BAND_SLACK[1]))
    return out


def clean_config(corpus: Corpus) -> CleanConfig:
    """The spec's clean settings with the names and files the corpus adds to them."""
    cfg = corpus.spec.clean
    if corpus.spec.excluded_names and cfg.excluded_names != corpus.spec.excluded_names:
        cfg = cfg.model_copy(update={"excluded_names": corpus.spec.excluded_names})
    cfg = cfg.model_copy(update={"subject_names": corpus.spec.subject.names()})
    if cfg.decontamination.files:  # the constitution is quoted on both sides on purpose
        decont = cfg.decontamination
        ignore = [*decont.ignore, corpus.spec.constitution]
        cfg = cfg.model_copy(
            update={"decontamination": decont.model_copy(update={"ignore": ignore})}
        )
    return cfg
