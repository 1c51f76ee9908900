"""Drop a document about a cast character that names the corpus's subject.

The subject's name carries the persona being trained, so it appears exactly
where the subject is meant: a story about an invented character that slips into
the subject's name (or an alias) would teach that the subject is someone else.
Documents about the subject, and documents that say nothing of whom they are
about (`attributes.about` absent, as in an arbitrary `sdf-corpus clean` input),
are kept. Matching is the excluded-name filter's whole-word rule.
"""

from __future__ import annotations

from collections.abc import Sequence

from sdf_corpus.clean.filters.base import KEEP, Filter, Verdict
from sdf_corpus.clean.filters.excluded_name import NameMatcher
from sdf_corpus.document import Document

__all__ = ["SubjectNameFilter"]


class SubjectNameFilter(Filter):
    name = "subject_name"

    def __init__(self, subject_names: Sequence[str]) -> None:
        self._matcher = NameMatcher(subject_names)

    def check(self, doc: Document) -> Verdict:
        if doc.attributes.get("about") != "cast":
            return KEEP
        m = self._matcher.search(doc.text)
        if m is None:
            return KEEP
        self.note(doc, name=m.group(1), offset=m.start(), about="cast")
        return False, self.name
