"""Settings for the clean stage (dedup, quality filters, shards, token counting).

The corpus spec imports `CleanConfig` as its `clean:` section, so every field
has a default and a description; unknown keys are rejected so a typo in a
spec fails loudly instead of silently using a default.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "CleanConfig",
    "DecontaminationConfig",
    "DedupConfig",
    "FilterConfig",
    "SemanticConfig",
    "ShardConfig",
]


class DedupConfig(BaseModel):
    """Exact + MinHash-LSH near-duplicate removal (see docs/clean.md for the defaults)."""

    model_config = ConfigDict(extra="forbid")

    exact: bool = Field(
        default=True, description="Drop documents whose normalised text was seen before."
    )
    near: bool = Field(default=True, description="Drop near-duplicates found by MinHash LSH.")
    num_perm: int = Field(
        default=128, ge=16, le=1024, description="MinHash permutations per signature."
    )
    bands: int = Field(
        default=21, ge=1, le=512, description="LSH bands; bands * rows must not exceed num_perm."
    )
    rows: int = Field(default=6, ge=1, le=128, description="Rows (hash values) per LSH band.")
    ngram: int = Field(default=5, ge=1, le=16, description="Word n-gram size of the shingles.")
    threshold: float = Field(
        default=0.8,
        ge=0.0,
        le=1.0,
        description="Jaccard similarity (exact, of the shingle sets) at or above which a "
        "candidate counts as a duplicate.",
    )
    batch_size: int = Field(
        default=2000, ge=1, le=100_000, description="Documents per signature batch."
    )
    seed: int = Field(default=1, ge=0, description="Seed of the MinHash permutations.")

    @model_validator(mode="after")
    def _bands_cover_signature(self) -> DedupConfig:
        # As datasketch's MinHashLSH: bands use the signature's first bands*rows values.
        if self.bands * self.rows > self.num_perm:
            raise ValueError(
                f"dedup.bands * dedup.rows must not exceed dedup.num_perm "
                f"({self.bands} * {self.rows} > {self.num_perm})"
            )
        return self


class SemanticConfig(BaseModel):
    """Semantic near-duplicates: the same story told again in other words (docs/clean.md)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        default=True,
        description="Drop a document that retells one already kept in its genre "
        "(`sdf-corpus clean` turns it off unless --semantic or this key asks for it).",
    )
    threshold: float = Field(
        default=0.55,
        ge=0.0,
        le=1.0,
        description="Cosine of the name-insensitive word vectors at or above which two "
        "documents may be the same story (calibrated on real prose, docs/clean.md).",
    )
    margin: float = Field(
        default=0.15,
        ge=0.0,
        le=1.0,
        description="... by which that cosine must also exceed each one's background: its "
        "cosine with its `background_rank`-th nearest document of the genre.",
    )
    background_rank: int = Field(
        default=30,
        ge=1,
        le=1000,
        description="Which nearest neighbour sets a document's background (a story told "
        "more often than this in one genre counts as the genre's common ground); in a "
        "genre of fewer than 2 x this + 1 documents, the median neighbour.",
    )
    min_word_overlap: float = Field(
        default=0.13,
        ge=0.0,
        le=1.0,
        description="... and the Jaccard similarity of their distinct words (names and "
        "the genre's common words left out) they must also reach.",
    )
    common_share: float = Field(
        default=0.15,
        ge=0.0,
        le=1.0,
        description="A word used by more than this share of a genre's documents is common "
        "there and left out of the word overlap ...",
    )
    common_min_docs: int = Field(
        default=5,
        ge=1,
        description="... when at least this many documents use it (a story told a few "
        "times in a small genre keeps its own words).",
    )
    exact_max_docs: int = Field(
        default=20_000,
        ge=0,
        description="A genre with at most this many documents is searched exactly; a "
        "larger one through an inverted-file index (clean/neighbours.py).",
    )


class FilterConfig(BaseModel):
    """Thresholds of the quality filters; each filter's reason code is in docs/clean.md."""

    model_config = ConfigDict(extra="forbid")

    enabled: list[str] | None = Field(
        default=None, description="Filter names to run (default: all, in the documented order)."
    )
    # language
    prescreen_min_stopword_share: float = Field(
        default=0.30,
        ge=0.0,
        le=1.0,
        description="English stop-word share at or above which a text is English (no langdetect).",
    )
    prescreen_max_stopword_share: float = Field(
        default=0.08,
        ge=0.0,
        le=1.0,
        description="English stop-word share below which a text is not English without langdetect.",
    )
    langdetect_sample_chars: int = Field(
        default=600, ge=50, le=20_000, description="Sample for langdetect."
    )
    # length
    default_min_tokens: int = Field(
        default=50, ge=0, description="Minimum tokens when a genre has no bounds."
    )
    default_max_tokens: int = Field(
        default=100_000, ge=1, description="Maximum tokens when a genre has no bounds."
    )
    # repetition (Gopher, Rae et al. 2021, table A1)
    max_dup_line_frac: float = Field(
        default=0.30, ge=0.0, le=1.0, description="Duplicate line fraction."
    )
    max_dup_para_frac: float = Field(
        default=0.30, ge=0.0, le=1.0, description="Duplicate paragraph fraction."
    )
    max_dup_line_char_frac: float = Field(
        default=0.20, ge=0.0, le=1.0, description="Chars in dup lines."
    )
    max_dup_para_char_frac: float = Field(
        default=0.20, ge=0.0, le=1.0, description="Chars in dup paragraphs."
    )
    max_top_ngram_frac: list[float] = Field(
        default=[0.20, 0.18, 0.16],
        min_length=3,
        max_length=3,
        description="Max char share of the most frequent 2-, 3-, 4-gram.",
    )
    max_dup_ngram_frac: list[float] = Field(
        default=[0.15, 0.14, 0.13, 0.12, 0.11, 0.10],
        min_length=6,
        max_length=6,
        description="Max char share of duplicated 5..10-grams.",
    )
    # degenerate loops
    max_consecutive_repeats: int = Field(
        default=3,
        ge=1,
        le=100,
        description="Same sentence/line more than this many times in a row drops.",
    )
    max_repeated_phrase_run: int = Field(
        default=4,
        ge=2,
        le=100,
        description="Same 3..12-word phrase more than this many times in a row.",
    )
    # symbols
    max_symbol_word_ratio: float = Field(
        default=0.10, ge=0.0, description="'#' and ellipses per word."
    )
    max_non_alpha_word_frac: float = Field(
        default=0.20, ge=0.0, le=1.0, description="Max share of words without any letter."
    )
    # stop words
    min_stopwords: int = Field(
        default=2, ge=0, description="Minimum occurrences of Gopher's eight English stop words."
    )
    # meta-commentary
    max_trim_chars: int = Field(
        default=400,
        ge=0,
        description="A leading/trailing meta line longer than this is not trimmed.",
    )
    # truncation
    truncated_min_keep_frac: float = Field(
        default=0.80,
        ge=0.0,
        le=1.0,
        description="Trim mid-sentence endings only if this share remains.",
    )
    truncated_min_keep_chars: int = Field(
        default=200, ge=0, description="... and at least this many characters remain."
    )


class DecontaminationConfig(BaseModel):
    """Drop documents sharing long n-grams with evaluation items (docs/clean.md)."""

    model_config = ConfigDict(extra="forbid")

    files: list[Path] = Field(
        default_factory=list,
        description="Probe-set folders (their probes.jsonl) or JSONL/Parquet evaluation files; "
        "empty: decontamination off.",
    )
    ngram: int = Field(
        default=12, ge=5, le=50, description="Words per n-gram (datatrove's default is 12)."
    )
    min_matches: int = Field(
        default=1, ge=1, le=1000, description="Matching n-grams at which a document is dropped."
    )
    text_fields: list[str] | None = Field(
        default=None, description="Fields of an evaluation record to read (default: every string)."
    )
    ignore: list[Path] = Field(
        default_factory=list,
        description="Texts whose n-grams are not evidence of leakage (a build adds its "
        "constitution, which documents and probes both quote).",
    )


class ShardConfig(BaseModel):
    """Parquet output layout."""

    model_config = ConfigDict(extra="forbid")

    target_mb: float = Field(
        default=256, gt=0, le=16_384, description="Target shard size in MB (on disk)."
    )
    row_group_rows: int = Field(
        default=1000, ge=1, le=1_000_000, description="Rows buffered before writing one row group."
    )
    compression_level: int = Field(default=3, ge=1, le=22, description="zstd level.")


class CleanConfig(BaseModel):
    """The `clean:` section of a corpus spec."""

    model_config = ConfigDict(extra="forbid")

    language: str = Field(
        default="en", min_length=2, description="ISO 639-1 code documents must be in."
    )
    excluded_names: list[str] = Field(
        default_factory=lambda: ["Claude"],
        description="Names that must not appear (whole word); matching documents are dropped.",
    )
    subject_names: list[str] = Field(
        default_factory=list,
        description="The subject's name and aliases (a build sets them from the spec's "
        "`subject`): never excluded, and dropped from documents about a cast character.",
    )
    dedup: DedupConfig = Field(default_factory=lambda: DedupConfig())
    semantic: SemanticConfig = Field(default_factory=lambda: SemanticConfig())
    filters: FilterConfig = Field(default_factory=lambda: FilterConfig())
    shard: ShardConfig = Field(default_factory=lambda: ShardConfig())
    decontamination: DecontaminationConfig = Field(default_factory=lambda: DecontaminationConfig())
    tokenizer: str = Field(
        default="approx",
        description='"approx" (offline estimate, approx-words-v1) or "hf:PATH" (tokenizer.json).',
    )
    workers: int = Field(
        default=0,
        ge=0,
        le=256,
        description="Processes for filters and signatures: 0 = one per CPU core, 1 = in-process. "
        "Outputs do not depend on it.",
    )
