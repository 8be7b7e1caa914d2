"""The supervision tables (督查督办): tasks and their feedback trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.toolkit import Model


class Task(Model):
    """A 督办事项 from a leader to a person or a whole unit.

    open → done (the assignee reports it finished) → accepted (closed) or back to open when
    the leader returns it. ``version`` makes two people acting on one form version a 409.
    """

    __tablename__ = "supervision_task"
    __table_args__ = (Index("ix_supervision_task_status_deadline", "status", "deadline"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    leader_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    assignee_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    assignee_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    deadline: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(12), default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    done_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    feedback: Mapped[list[Feedback]] = relationship(order_by="Feedback.id",
                                                    back_populates="task")

    __mapper_args__ = {"version_id_col": version}

    def overdue(self, now: datetime) -> bool:
        """Past its deadline and not yet finished (a finished task waiting for acceptance is
        late only if it was reported done after the deadline)."""
        if self.status == "accepted":
            return bool(self.done_at and self.done_at > self.deadline)
        if self.status == "done":
            return bool(self.done_at and self.done_at > self.deadline)
        return now > self.deadline


class Feedback(Model):
    """One line of the trail: progress, done, accepted, returned (append-only by use)."""

    __tablename__ = "supervision_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("supervision_task.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    kind: Mapped[str] = mapped_column(String(12))
    body: Mapped[str] = mapped_column(Text, default="")
    percent: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime)

    task: Mapped[Task] = relationship(back_populates="feedback")
