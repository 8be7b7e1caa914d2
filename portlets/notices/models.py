"""The notices plugin's own tables (created by its own migrations)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.toolkit import Model

TARGET_KINDS = ("person", "post", "org")


class Notice(Model):
    """A notice is a draft (editable, visible to its sender only) until it is submitted."""

    __tablename__ = "notice"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    # No sender: a notice the portal wrote for a ``notify`` call (a customer change, a work
    # item handed over); ``event_id`` is that notification's event, unique so that a retried
    # delivery can never make a second notice.
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    sender_name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(60), default="notice", server_default="notice")
    link: Mapped[str] = mapped_column(String(255), default="", server_default="")
    event_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now(),
                                                 onupdate=func.now())
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)

    targets: Mapped[list[NoticeTarget]] = relationship(cascade="all, delete-orphan",
                                                       order_by="NoticeTarget.id")

    @property
    def is_draft(self) -> bool:
        return self.submitted_at is None


class NoticeTarget(Model):
    """Whom the sender addressed: a person, everyone holding a post, or an org unit subtree."""

    __tablename__ = "notice_target"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"),
                                           index=True)
    kind: Mapped[str] = mapped_column(String(10))
    ref: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(100))


class NoticeReceipt(Model):
    """One row per recipient, made when the notice is submitted: who may read it, and whether
    they have. Expanding targets once at submission means a person who joins a unit later does
    not see old notices, and counting readers is a plain indexed count."""

    __tablename__ = "notice_receipt"
    __table_args__ = (UniqueConstraint("notice_id", "person_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"),
                                           index=True)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)
