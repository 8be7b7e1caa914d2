"""The archive's own tables. The full-text index is not mapped here: it is an FTS5 table on
SQLite and a ``tsvector`` column on PostgreSQL, both written by ``portlets.archive.index``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from portal.toolkit import Model


class ArchiveRecord(Model):
    """One finished record (案卷/文件). ``event_id`` is the ``document.archived`` event it came
    from (unique, so a replayed event finds its record instead of adding a second one); records
    registered by hand or imported have none."""

    __tablename__ = "archive_record"
    __table_args__ = (
        Index("ix_archive_record_year_id", "year", "id"),
        Index("ix_archive_record_category_id", "category", "id"),
        Index("ix_archive_record_number", "number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    source: Mapped[str] = mapped_column(String(40), default="paper")
    number: Mapped[str] = mapped_column(String(60), default="")
    title: Mapped[str] = mapped_column(String(200))
    year: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(20))
    retention: Mapped[str] = mapped_column(String(12))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    issuer: Mapped[str] = mapped_column(String(100), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(300), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())


class ArchiveAccess(Model):
    """A unit that may see a record; everyone in that unit and below it does."""

    __tablename__ = "archive_access"
    __table_args__ = (Index("ix_archive_access_unit", "unit_id", "record_id"),)

    record_id: Mapped[int] = mapped_column(
        ForeignKey("archive_record.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), primary_key=True)
