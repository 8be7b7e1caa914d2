"""The collaboration plugin's own tables (created by its own migrations)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.toolkit import Model


class WorkItem(Model):
    """A 协同事项. ``version`` is SQLAlchemy's version counter: every UPDATE says
    ``WHERE version = <the version read>``, so of two people acting at once exactly one wins.

    The holder is ``handler_person_id`` (a person, the originator included while the item is a
    draft or returned), or only ``handler_unit_id`` while it waits in a department inbox.
    """

    __tablename__ = "collab_item"
    __table_args__ = (
        Index("ix_collab_item_state_submitted", "state", "submitted_at", "id"),
        Index("ix_collab_item_handler_state", "handler_person_id", "state"),
        Index("ix_collab_item_unit_state", "handler_unit_id", "state"),
        Index("ix_collab_item_originator_state", "originator_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type_code: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text, default="")  # sanitized HTML
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    originator_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    originator_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    state: Mapped[str] = mapped_column(String(16), default="draft")
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    handler_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    handler_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    handed_at: Mapped[datetime | None] = mapped_column(DateTime)
    due_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    archived_at: Mapped[datetime | None] = mapped_column(DateTime)
    result: Mapped[str] = mapped_column(Text, default="")
    rating_score: Mapped[int | None] = mapped_column(Integer)
    rating_grade: Mapped[str | None] = mapped_column(String(8))
    overdue: Mapped[int] = mapped_column(Integer, default=0)  # 1 once a deadline was missed

    steps: Mapped[list[WorkStep]] = relationship(order_by="WorkStep.seq",
                                                 back_populates="item")
    attachments: Mapped[list[Attachment]] = relationship(order_by="Attachment.id")

    __mapper_args__ = {"version_id_col": version}


class WorkParty(Model):
    """Who is involved in an item, and in which unit: the basis of "who may see what".

    Participants see the item; leaders see it when one of its parties' units lies under a unit
    they manage. ``unit_path`` is the unit's materialised path, copied so that a leader's
    query is one indexed prefix match without a join to ``org_unit``.
    """

    __tablename__ = "collab_party"
    __table_args__ = (
        UniqueConstraint("item_id", "person_id", "unit_id", name="uq_collab_party"),
        Index("ix_collab_party_path_item", "unit_path", "item_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("collab_item.id", ondelete="CASCADE"),
                                         index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    unit_path: Mapped[str] = mapped_column(String(255), default="")


class WorkStep(Model):
    """One line of the trace (反馈痕迹). Append-only: the ORM refuses updates and deletes, and
    the migration adds database triggers so raw SQL is refused too."""

    __tablename__ = "collab_step"
    __table_args__ = (UniqueConstraint("item_id", "seq", name="uq_collab_step_item_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("collab_item.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    actor_name: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    to_label: Mapped[str] = mapped_column(String(120), default="")

    item: Mapped[WorkItem] = relationship(back_populates="steps")
    attachments: Mapped[list[Attachment]] = relationship(order_by="Attachment.id",
                                                         viewonly=True)


class Attachment(Model):
    """A file kept by the attachment storage; the row names it and says who added it when."""

    __tablename__ = "collab_attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("collab_item.id"), index=True)
    step_id: Mapped[int | None] = mapped_column(ForeignKey("collab_step.id"))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("person.id"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())


class TraceIsAppendOnly(RuntimeError):
    pass


def _refuse(*_args: object) -> None:
    raise TraceIsAppendOnly("trace steps cannot be changed or deleted")


event.listen(WorkStep, "before_update", _refuse)
event.listen(WorkStep, "before_delete", _refuse)
