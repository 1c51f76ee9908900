"""The subject section of the report: whom the corpus is about, genre by genre.

A corpus is built for one model (the spec's `subject`). Each genre's documents are
about that subject or about an invented cast character; this section sets the
realised split against each genre's `subject_share`, and checks the names: every
subject document should name the subject, no cast document may (the clean stage
drops those, as `subject_name`).
"""

from __future__ import annotations

from html import escape
from typing import Any

from sdf_corpus.report.scan import ShardScan
from sdf_corpus.report.sources import LedgerFacts

__all__ = ["subject_html", "subject_lines", "subject_section"]


def _share(n: float, total: float) -> float:
    return round(n / total, 6) if total else 0.0


def subject_section(
    scan: ShardScan, ledger: LedgerFacts | None, dropped: int
) -> dict[str, Any] | None:
    """Per genre: documents about the subject vs the cast against the spec's setting, and
    how many name the subject (all of the subject's should; none of the cast's may)."""
    if not any(about for _, about in scan.about):
        return None  # a run that does not record whom documents are about
    subject = ledger.subject if ledger else {}
    settings = ledger.subject_shares if ledger else {}
    rows: list[dict[str, Any]] = []
    for g in sorted({g for g, _ in scan.about}):
        n_subject, n_cast = scan.about[(g, "subject")], scan.about[(g, "cast")]
        rows.append(
            {
                "genre": g,
                "docs": scan.docs.get(g, 0),
                "subject_docs": n_subject,
                "cast_docs": n_cast,
                "subject_share": _share(n_subject, n_subject + n_cast),
                "setting": settings.get(g),
                "subject_docs_naming_subject": scan.subject_named[(g, "subject")],
                "cast_docs_naming_subject": scan.subject_named[(g, "cast")],
            }
        )
    n_subject = sum(r["subject_docs"] for r in rows)
    return {
        "name": subject.get("name", ""),
        "developer": subject.get("developer", ""),
        "aliases": list(subject.get("aliases", [])),
        "genres": rows,
        "subject_docs": n_subject,
        "cast_docs": sum(r["cast_docs"] for r in rows),
        "subject_naming_share": _share(
            sum(r["subject_docs_naming_subject"] for r in rows), n_subject
        ),
        "cast_naming_subject": sum(r["cast_docs_naming_subject"] for r in rows),
        "dropped_cast_naming_subject": dropped,
    }


def subject_lines(section: dict[str, Any] | None) -> list[str]:
    if not section:
        return []
    lines = [
        f"subject: {section['name']}: {section['subject_docs']:,} documents about it, "
        f"{section['cast_docs']:,} about the cast; {section['subject_naming_share']:.0%} of "
        f"its documents name it, {section['dropped_cast_naming_subject']:,} cast documents "
        "dropped for naming it"
    ]
    if section["cast_naming_subject"]:
        lines.append(f"  ! {section['cast_naming_subject']} kept cast documents name the subject")
    return lines


def subject_html(section: dict[str, Any] | None) -> str:
    if not section:
        return '<p class="muted">This run does not record whom its documents are about.</p>'
    head = (
        f"<p>The corpus is for <b>{escape(section['name'])}</b>"
        f"{' by ' + escape(section['developer']) if section['developer'] else ''}: "
        f"{section['subject_docs']:,} documents about it, {section['cast_docs']:,} about "
        f"invented cast characters. {section['subject_naming_share']:.1%} of the subject's "
        f"documents name it; {section['dropped_cast_naming_subject']:,} cast documents were "
        "dropped for naming it.</p>"
    )
    cells = "".join(
        f'<tr><td>{escape(r["genre"])}</td><td class="n">{r["subject_docs"]:,}</td>'
        f'<td class="n">{r["cast_docs"]:,}</td><td class="n">{r["subject_share"]:.1%}</td>'
        f'<td class="n">{"" if r["setting"] is None else format(r["setting"], ".0%")}</td>'
        f'<td class="n">{r["subject_docs_naming_subject"]:,}</td>'
        f'<td class="n">{r["cast_docs_naming_subject"]:,}</td></tr>'
        for r in section["genres"]
    )
    return (
        head + "<table><tr><th>genre</th><th>about the subject</th><th>about the cast</th>"
        "<th>subject share</th><th>setting</th><th>subject docs naming it</th>"
        f"<th>cast docs naming it</th></tr>{cells}</table>"
    )
