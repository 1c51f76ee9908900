"""Text normalisation shared by exact and near dedup.

Two documents that differ only in case, whitespace or punctuation are the same
document for training purposes, so both dedup steps hash this form.
"""

from __future__ import annotations

import re

import xxhash

__all__ = ["digest_normalised", "normalise"]

# Anything that is neither a word character nor whitespace counts as punctuation;
# replacing it with a space (not deleting) keeps "end.Start" as two words.
_PUNCT = re.compile(r"[^\w\s]+|_+")

# ASCII fast path: one C-level bytes.translate instead of a regex scan, which
# made normalisation the slowest part of MinHash (about 200 us per document).
# Letters and digits lower-case, every other byte becomes a space.
_ASCII_TABLE = bytes(
    (b | 0x20) if chr(b).isalpha() else b if chr(b).isdigit() else 0x20 for b in range(256)
)


def normalise(text: str) -> str:
    """Casefold, turn punctuation into spaces and collapse whitespace."""
    if text.isascii():
        return b" ".join(text.encode("ascii").translate(_ASCII_TABLE).split()).decode("ascii")
    return " ".join(_PUNCT.sub(" ", text.casefold()).split())


def digest_normalised(norm: str) -> bytes:
    """16-byte digest of a text passed through `normalise`: all exact dedup needs to remember."""
    return xxhash.xxh3_128_digest(norm.encode("utf-8"))
