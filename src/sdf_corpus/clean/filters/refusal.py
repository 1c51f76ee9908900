"""Drop generations whose main body is a refusal ("I'm sorry, but I cannot ...").

A refusal is recognised by its opening: a short apology or inability statement
at the start of the text. A story where a character says "I can't help with
that" deep inside is not a refusal, so only the first 300 characters and
texts that are short overall are checked.
"""

from __future__ import annotations

import re

from sdf_corpus.clean.filters.base import KEEP, Filter, Verdict
from sdf_corpus.document import Document

__all__ = ["RefusalFilter"]

_APOS = "['\u2019]"
_REFUSAL = re.compile(
    r"^\W*(?:"
    rf"I{_APOS}m (?:sorry|afraid)[,.]? (?:but )?I (?:can{_APOS}?t|cannot|won{_APOS}t|am unable|"
    rf"am not able|{_APOS}m unable|{_APOS}m not able)"
    rf"|I (?:can{_APOS}?t|cannot|won{_APOS}t|am unable to|{_APOS}m unable to|am not able to|"
    rf"must decline to) (?:help|assist|write|create|provide|generate|comply|fulfil|"
    r"fulfill|produce|do that|continue)"
    r"|(?:Sorry|Unfortunately|Apologies)[,.!]? (?:but )?I (?:can|cannot|won|am unable|am not)"
    r"|As an AI(?: language model)?, I (?:can|cannot|don|am unable|am not able)"
    r")",
    re.IGNORECASE,
)
_HEAD_CHARS = 300


class RefusalFilter(Filter):
    name = "refusal"

    def check(self, doc: Document) -> Verdict:
        head = doc.text.lstrip()[:_HEAD_CHARS]
        if _REFUSAL.search(head) is None:
            return KEEP
        self.note(doc, opening=head[:80])
        return False, self.name
