"""The documents plugin's own tables (created by its own migrations)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from portal.toolkit import Model


class Document(Model):
    """An outgoing document (发文). Its workflow instance holds whose turn it is; ``stage``
    mirrors the current step so that lists are one indexed query."""

    __tablename__ = "doc_document"
    __table_args__ = (
        UniqueConstraint("doc_type", "year", "seq", name="uq_doc_document_number"),
        Index("ix_doc_document_stage", "stage", "updated_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    doc_type: Mapped[str] = mapped_column(String(16))  # a key of numbering.DOC_TYPES
    category: Mapped[str] = mapped_column(String(16))  # 文种: 通知, 请示, 报告...
    retention: Mapped[str] = mapped_column(String(16))  # 保管期限: 10年, 30年, 永久
    body: Mapped[str] = mapped_column(Text)
    drafter_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))  # the issuing unit
    countersign_units: Mapped[list[int]] = mapped_column(JSON, default=list)
    recipient_units: Mapped[list[int]] = mapped_column(JSON, default=list)
    stage: Mapped[str] = mapped_column(String(20), default="draft")
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("wf_instance.id"))
    year: Mapped[int | None] = mapped_column(Integer)
    seq: Mapped[int | None] = mapped_column(Integer)
    number: Mapped[str | None] = mapped_column(String(40), unique=True)
    #: The sealed file: the body rendered to stable bytes, its digest and detached signature.
    sealed_file: Mapped[bytes | None] = mapped_column(LargeBinary)
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    signer_subject: Mapped[str | None] = mapped_column(String(255))
    signer_serial: Mapped[str | None] = mapped_column(String(64))
    signed_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime)
    archived_at: Mapped[datetime | None] = mapped_column(DateTime)


class NumberCounter(Model):
    """The last number given per document type and year; locked while a number is taken, so
    numbers have no gaps and no duplicates."""

    __tablename__ = "doc_number_counter"

    doc_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Incoming(Model):
    """A document as it arrived in one recipient unit (收文), with its own workflow."""

    __tablename__ = "doc_incoming"
    __table_args__ = (
        UniqueConstraint("document_id", "unit_id", name="uq_doc_incoming_document_id"),
        Index("ix_doc_incoming_unit_stage", "unit_id", "stage", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("doc_document.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    stage: Mapped[str] = mapped_column(String(20), default="receive")
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("wf_instance.id"))
    reg_no: Mapped[str | None] = mapped_column(String(40))  # 收文登记号
    received_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class Reading(Model):
    """Who opened an incoming document, and when first (阅读跟踪)."""

    __tablename__ = "doc_reading"
    __table_args__ = (UniqueConstraint("incoming_id", "person_id",
                                       name="uq_doc_reading_incoming_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incoming_id: Mapped[int] = mapped_column(ForeignKey("doc_incoming.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    read_at: Mapped[datetime] = mapped_column(DateTime)
