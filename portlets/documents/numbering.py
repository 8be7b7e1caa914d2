"""Document numbers (发文字号) like 嘉烟〔2026〕12号: gap-free per year and document type.

The counter row is locked (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite serialises writers)
in the transaction that numbers the document, so two clerks numbering at once get 12 and 13,
and a rolled-back numbering gives its number back. A unique constraint on (type, year, seq)
backs it up: a duplicate is refused with 409 instead of being stored.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.toolkit import gettext, lazy_gettext
from portlets.documents.errors import Conflict
from portlets.documents.models import Document, NumberCounter

#: Document type code → (number prefix, label).
DOC_TYPES = {
    "JY": ("嘉烟", lazy_gettext("Company document (嘉烟)")),
    "JYB": ("嘉烟办", lazy_gettext("Office document (嘉烟办)")),
    "JYZ": ("嘉烟专", lazy_gettext("Monopoly document (嘉烟专)")),
}


def format_number(doc_type: str, year: int, seq: int) -> str:
    return f"{DOC_TYPES[doc_type][0]}〔{year}〕{seq}号"


def take_number(db: Session, doc: Document, year: int) -> str:
    """Give *doc* the next number of its type and year (in the caller's transaction)."""
    if doc.number:
        raise Conflict(gettext("This document already has the number %(number)s.",
                               number=doc.number))
    query = select(NumberCounter).where(NumberCounter.doc_type == doc.doc_type,
                                        NumberCounter.year == year).with_for_update()
    counter = db.scalars(query).first()
    number = ""
    try:
        if counter is None:
            counter = NumberCounter(doc_type=doc.doc_type, year=year, last=0)
            db.add(counter)
            db.flush()  # two first numbers of a year at once: one insert fails, 409
        counter.last += 1
        doc.year, doc.seq = year, counter.last
        number = doc.number = format_number(doc.doc_type, year, counter.last)
        db.flush()
    except IntegrityError:
        # The session is unusable now; the caller rolls the whole act back.
        raise Conflict(gettext("The document number %(number)s is already taken; nothing was "
                               "saved. Reload and try again.",
                               number=number)) from None
    return number
