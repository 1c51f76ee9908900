"""Drop documents with unrendered template variables or placeholder text.

"[Your Name]" or "{persona}" in training text teaches the model to emit
template debris; no trim can make such a document right, so it is dropped.

In a user's own text (not `Document.generated`) the code-like forms, `{x}`,
`{{ x }}`, `XXX` and `TODO:`, are ordinary documentation and code ("the format
"{message}"", "logger XXX"), so only the unmistakable placeholders count there:
"[Your Name]", "[insert ...]", "<insert ...>", "Lorem ipsum".
"""

from __future__ import annotations

import re

from sdf_corpus.clean.filters.base import KEEP, Filter, Verdict
from sdf_corpus.document import Document

__all__ = ["PlaceholderFilter"]

_CODE_LIKE = [
    r"\{\{[^{}\n]{0,60}\}\}",  # jinja/mustache {{ x }}
    r"\{\s*[A-Za-z_][A-Za-z0-9_.]{0,40}\s*\}",  # str.format {persona}
    r"(?<![A-Za-z])XXX+(?![A-Za-z])",
    r"\bTODO:",
]
_UNMISTAKABLE = [
    # [Name], [Your Name], [insert date], [Company Name], [X]
    r"\[(?:your |the |insert |my |their )?(?:[A-Z][a-z]+ ?){0,3}(?:name|Name|NAME|date|Date|"
    r"company|Company|address|Address|location|Location|city|City|email|Email|number|Number|"
    r"title|Title|topic|Topic|X|Y)\]",
    r"\[(?:insert|INSERT|Insert)[^\]\n]{0,60}\]",
    r"<\s*(?:insert|INSERT|Insert|placeholder|PLACEHOLDER)[^>\n]{0,60}>",
    r"\b[Ll]orem ipsum\b",
]
_PLACEHOLDER = re.compile("|".join(f"(?:{p})" for p in _CODE_LIKE + _UNMISTAKABLE))
_USER_PLACEHOLDER = re.compile("|".join(f"(?:{p})" for p in _UNMISTAKABLE))
# Each pattern above contains one of these literally; `in` is a C scan, much
# cheaper than trying every alternative at every position of a clean text.
_TRIGGERS = ("{", "[", "<", "orem ipsum", "XXX", "TODO:")


class PlaceholderFilter(Filter):
    name = "placeholder"

    def check(self, doc: Document) -> Verdict:
        if not any(t in doc.text for t in _TRIGGERS):
            return KEEP
        m = (_PLACEHOLDER if doc.generated else _USER_PLACEHOLDER).search(doc.text)
        if m is None:
            return KEEP
        self.note(doc, match=m.group(0))
        return False, self.name
