"""The documents' part of the unified search: outgoing documents (发文) and incoming records
(收文) whose title, document number (文号, e.g. 嘉烟〔2026〕12号) or registration number
(收文登记号) hold every word of the query.

Visibility is the lists' own clauses (``lists.outgoing_visible`` / ``incoming_visible``), so
the search box never finds a document the person's lists would not show. Each part is one
query with a LIMIT; the visibility clause narrows by indexed columns (drafter, task assignee,
receiving unit) before the LIKE is applied.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from portal.toolkit import Principal, SearchResult, excerpt, lazy_gettext
from portlets.documents.lists import incoming_visible, outgoing_visible
from portlets.documents.models import Document, Incoming

#: Hits per kind (outgoing, incoming); the unified page shows the best ten of the source.
LIMIT = 20


def _patterns(query: str) -> list[str]:
    """One LIKE pattern per word; ``%`` and ``_`` typed by the user are taken literally."""
    out = []
    for word in query.split():
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        out.append(f"%{escaped}%")
    return out


def _every_word(patterns: list[str], *columns: ColumnElement[str | None]
                ) -> list[ColumnElement[bool]]:
    return [or_(*(c.like(p, escape="\\") for c in columns)) for p in patterns]


def _score(query: str, title: str, number: str | None) -> float:
    """An exact document number first, then every word in the title."""
    if number and query.replace(" ", "") == number:
        return 3.0
    return 2.0 if all(w in title for w in query.split()) else 1.0


def search(db: Session, me: Principal, query: str, limit: int = LIMIT) -> list[SearchResult]:
    patterns = _patterns(query)
    words = query.split()
    source = str(lazy_gettext("Documents"))
    outgoing_label, incoming_label = str(lazy_gettext("Outgoing")), \
        str(lazy_gettext("Incoming"))
    hits: list[SearchResult] = []
    docs = db.execute(
        select(Document.id, Document.title, Document.number, Document.body, Document.updated_at)
        .where(outgoing_visible(me), *_every_word(patterns, Document.title, Document.number))
        .order_by(Document.updated_at.desc(), Document.id.desc()).limit(limit)).all()
    for d in docs:
        hits.append(SearchResult(
            source=source, title=f"【{outgoing_label}】{d.number + ' ' if d.number else ''}"
                                 f"{d.title}",
            url=f"/documents/{d.id}", snippet=excerpt(d.body, words), when=d.updated_at,
            score=_score(query, d.title, d.number)))
    arrivals = db.execute(
        select(Incoming.id, Incoming.reg_no, Incoming.received_at, Document.title,
               Document.number, Document.body)
        .join(Document, Document.id == Incoming.document_id)
        .where(incoming_visible(me),
               *_every_word(patterns, Document.title, Document.number, Incoming.reg_no))
        .order_by(Incoming.received_at.desc(), Incoming.id.desc()).limit(limit)).all()
    for a in arrivals:
        hits.append(SearchResult(
            source=source, title=f"【{incoming_label}】{a.number or ''} {a.title}".replace(
                "】 ", "】"),
            url=f"/documents/incoming/{a.id}", snippet=excerpt(a.body, words),
            when=a.received_at,
            score=3.0 if a.reg_no == query else _score(query, a.title, a.number)))
    return hits
