"""Strip or drop assistant meta-commentary around the requested text.

"Sure! Here's your story:" before, or "I hope this helps!" after, a sound
document is debris from a chat-tuned generator: removing that one line leaves
a clean document, so it is trimmed (recorded in quality["trimmed"]). Meta text
anywhere else, or a leading/trailing meta line longer than `max_trim_chars`
(a paragraph of commentary, not a line), drops the document.
"""

from __future__ import annotations

import re

from sdf_corpus.clean.filters.base import KEEP, Filter, Verdict, can_rewrite, rewrite
from sdf_corpus.document import Document

__all__ = ["MetaCommentaryFilter"]

_A = "['\u2019]"
# An interjection directly followed by punctuation ("Sure!", "Certainly,") on a
# short line, or "Here's/Here is a ..." ending with a colon. A story line that
# merely starts with "Of course he went" is not matched: punctuation must follow.
_PREAMBLE = re.compile(
    r"^\W*(?:(?:sure|certainly|of course|absolutely|okay|alright)[!.,][^\n]{0,160}"
    rf"|here(?:{_A}s| is| are) (?:a|an|the|your|my)\b[^\n]{{0,200}}:[\s*_#]*)$",
    re.IGNORECASE,
)
_CLOSING = re.compile(
    r"^\W*(?:i hope (?:this|that|you)\b|let me know if\b|feel free to\b|"
    rf"if you(?:{_A}d| would) like\b|would you like me to\b|"
    r"(?:\(?note|disclaimer)\s*:\s*(?:this|the|i)\b)",
    re.IGNORECASE,
)
# Anywhere in the body these are meta-text, not story: they drop the document.
_ANYWHERE = re.compile(
    r"as an ai (?:language )?model|i hope this (?:helps|story|post|meets)|"
    rf"let me know if you(?:{_A}d| would) like|here(?:{_A}s| is) (?:your|the) (?:story|"
    r"blog post|article|essay|rewritten|revised|transcript)\b|"
    r"(?:^|\n)\W*note: this (?:story|post|article|piece|text)\b",
    re.IGNORECASE,
)

# For ASCII text, each `_ANYWHERE` alternative contains one of these
# (lower-cased) literally, so a text holding none of them cannot match and the
# case-insensitive regex scan is skipped.
_ANYWHERE_TRIGGERS = (
    "as an ai",
    "i hope this",
    "let me know if you",
    "here's",
    "here is",
    "note: this",
)


def _find_anywhere(body: str) -> re.Match[str] | None:
    if body.isascii():
        low = body.lower()
        if not any(t in low for t in _ANYWHERE_TRIGGERS):
            return None
    return _ANYWHERE.search(body)


class MetaCommentaryFilter(Filter):
    name = "meta_commentary"

    def __init__(self, max_trim_chars: int = 400) -> None:
        self.max_trim_chars = max_trim_chars

    def check(self, doc: Document) -> Verdict:
        lines = doc.text.strip().split("\n")
        stripped: list[str] = []
        if len(lines) > 1 and self._is_trimmable(lines[0], _PREAMBLE):
            stripped.append(lines.pop(0).strip())
        while len(lines) > 1 and (not lines[-1].strip() or self._is_trimmable(lines[-1], _CLOSING)):
            line = lines.pop().strip()
            if line:
                stripped.append(line)
        body = "\n".join(lines).strip()
        m = _find_anywhere(body)
        if m is not None or (stripped and not can_rewrite(doc)):
            self.note(doc, match=m.group(0) if m else stripped[0][:80])
            return False, self.name
        if stripped:
            rewrite(doc, self.name, body, "meta lines: " + " | ".join(s[:60] for s in stripped))
        return KEEP

    def _is_trimmable(self, line: str, pattern: re.Pattern[str]) -> bool:
        line = line.strip()
        return bool(line) and len(line) <= self.max_trim_chars and pattern.search(line) is not None
