"""Writing records: from a ``document.archived`` event, from the archivist's form, from a bulk
file. One validation for all three; a record and its index entry are written together."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.toolkit import OrgUnit, lazy_gettext
from portlets.archive import index
from portlets.archive.models import ArchiveAccess, ArchiveRecord

#: Category codes and their names (档案门类); the Chinese name is accepted as input too.
CATEGORIES = {
    "document": lazy_gettext("Administrative records"),  # 文书
    "accounting": lazy_gettext("Accounting"),    # 会计
    "personnel": lazy_gettext("Personnel"),      # 人事
    "monopoly": lazy_gettext("Monopoly cases"),  # 专卖案卷
    "project": lazy_gettext("Projects"),         # 基建/科技
}
CATEGORY_ALIASES = {"文书": "document", "会计": "accounting", "人事": "personnel",
                    "专卖": "monopoly", "专卖案卷": "monopoly", "基建": "project",
                    "科技": "project"}
#: Retention periods (保管期限).
RETENTIONS = {"permanent": lazy_gettext("Permanent"), "30y": lazy_gettext("30 years"),
              "10y": lazy_gettext("10 years")}
RETENTION_ALIASES = {"永久": "permanent", "30年": "30y", "10年": "10y", "30": "30y",
                     "10": "10y"}
#: Where a record came from, as shown; other plugins' codes are shown as they are.
SOURCES = {"paper": lazy_gettext("Paper record"), "import": lazy_gettext("Bulk import"),
           "outgoing": lazy_gettext("Outgoing document"),
           "incoming": lazy_gettext("Incoming document")}
MAX_TITLE = 200
MAX_NUMBER = 60
MAX_BODY = 200_000


class Invalid(ValueError):
    """The input cannot become a record; ``errors`` maps each field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class Duplicate(Invalid):
    """A record with this number already exists for the year (a 409, not a 422)."""


@dataclass
class RecordInput:
    title: str
    year: int
    category: str
    retention: str
    number: str = ""
    unit_id: int | None = None
    issuer: str = ""
    body: str = ""
    url: str = ""
    source: str = "paper"
    unit_ids: list[int] = field(default_factory=list)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


def parse(session: Session, data: Mapping[str, Any]) -> RecordInput:
    """Check and normalise one record's fields (from a form, a file row or an event payload).
    Units may be given by id or by code; ``unit_ids`` as a list or a string split on ``;`` or
    ``,``. Without ``unit_ids`` the record is shared with its issuing unit."""
    errors: dict[str, str] = {}
    title = " ".join(str(data.get("title") or "").split())
    if not title:
        errors["title"] = str(lazy_gettext("A title is required."))
    elif len(title) > MAX_TITLE:
        errors["title"] = str(lazy_gettext("The title is too long."))
    year = _int(data.get("year"))
    if year is None or not 1949 <= year <= date.today().year + 1:
        errors["year"] = str(lazy_gettext("The year must be a year like 2026."))
    raw_cat = str(data.get("category") or "").strip()
    category = CATEGORY_ALIASES.get(raw_cat, raw_cat)
    if category not in CATEGORIES:
        errors["category"] = str(lazy_gettext("Unknown category."))
    raw_ret = str(data.get("retention") or "").strip()
    retention = RETENTION_ALIASES.get(raw_ret, raw_ret)
    if retention not in RETENTIONS:
        errors["retention"] = str(lazy_gettext("Unknown retention period."))
    number = str(data.get("number") or "").strip()
    if len(number) > MAX_NUMBER:
        errors["number"] = str(lazy_gettext("The document number is too long."))
    body = str(data.get("body") or "")
    if len(body) > MAX_BODY:
        errors["body"] = str(lazy_gettext("The text is too long."))
    unit_id = None
    if data.get("unit_id") not in (None, ""):
        unit_id = _unit(session, data.get("unit_id"))
        if unit_id is None:
            errors["unit_id"] = str(lazy_gettext("Unknown organisation unit."))
    raw_units = data.get("unit_ids") or []
    if isinstance(raw_units, str):
        raw_units = [u for u in raw_units.replace(",", ";").split(";") if u.strip()]
    unit_ids: list[int] = []
    for raw in raw_units:
        uid = _unit(session, raw)
        if uid is None:
            errors["unit_ids"] = str(lazy_gettext("Unknown organisation unit."))
        elif uid not in unit_ids:
            unit_ids.append(uid)
    if not unit_ids and unit_id is not None:
        unit_ids = [unit_id]
    if not unit_ids and "unit_ids" not in errors:
        errors["unit_ids"] = str(lazy_gettext("Say which units may see the record."))
    url = str(data.get("url") or "").strip()
    if url and not url.startswith("/"):
        errors["url"] = str(lazy_gettext("The link must be a path inside the portal."))
    if errors:
        raise Invalid(errors)
    issuer = str(data.get("issuer") or "").strip()
    if not issuer and unit_id is not None:
        issuer = session.scalar(select(OrgUnit.name).where(OrgUnit.id == unit_id)) or ""
    assert year is not None
    return RecordInput(title=title, year=year, category=category, retention=retention,
                       number=number, unit_id=unit_id, issuer=issuer[:100], body=body,
                       url=url[:300], source=str(data.get("source") or "paper")[:40],
                       unit_ids=unit_ids)


def _unit(session: Session, value: Any) -> int | None:
    if isinstance(value, int) or str(value).strip().isdigit():
        return session.scalar(select(OrgUnit.id).where(OrgUnit.id == int(value)))
    return session.scalar(select(OrgUnit.id).where(OrgUnit.code == str(value).strip()))


def check_unique(session: Session, data: RecordInput) -> None:
    if data.number and session.scalar(select(ArchiveRecord.id).where(
            ArchiveRecord.number == data.number, ArchiveRecord.year == data.year).limit(1)):
        raise Duplicate({"number": str(lazy_gettext(
            "A record numbered %(number)s already exists for %(year)d.",
            number=data.number, year=data.year))})


def add(session: Session, data: RecordInput, *, event_id: int | None = None,
        created_by: int | None = None) -> ArchiveRecord:
    """Insert the record, who may see it and its index entry (flushes; the caller commits)."""
    record = ArchiveRecord(event_id=event_id, source=data.source, number=data.number,
                           title=data.title, year=data.year, category=data.category,
                           retention=data.retention, unit_id=data.unit_id, issuer=data.issuer,
                           body=data.body, url=data.url, created_by=created_by)
    session.add(record)
    session.flush()
    session.add_all(ArchiveAccess(record_id=record.id, unit_id=u) for u in data.unit_ids)
    index.write(session, record)
    session.flush()
    return record


def from_event(session: Session, event_id: int, payload: Mapping[str, Any]) -> ArchiveRecord:
    """The record of a ``document.archived`` event: the one already made for this event when
    it is replayed, else a new one. A number already archived (the same document archived
    twice under two events) is kept once too."""
    existing = session.scalar(select(ArchiveRecord).where(ArchiveRecord.event_id == event_id))
    if existing is not None:
        return existing
    data = parse(session, payload)
    if data.number:
        same = session.scalar(select(ArchiveRecord).where(
            ArchiveRecord.number == data.number, ArchiveRecord.year == data.year,
            ArchiveRecord.source == data.source).limit(1))
        if same is not None:
            return same
    return add(session, data, event_id=event_id)
