"""The engine's tables: instances, tasks (the SQL-queryable open to-dos) and the history log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Model

#: Task statuses: waiting for its assignee; acted on; closed without acting (another person of
#: the same group acted, the instance was returned or withdrawn).
OPEN, DONE, CLOSED = "open", "done", "closed"
#: Instance statuses.
RUNNING, FINISHED = "running", "finished"


class WorkflowInstance(Model):
    """One run of a definition for one subject (a document, a leave request...).

    ``version`` is SQLAlchemy's version counter: every act says which version it saw, and of
    two people acting at once exactly one wins.
    """

    __tablename__ = "wf_instance"
    __table_args__ = (Index("ix_wf_instance_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    definition_id: Mapped[str] = mapped_column(String(40))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default=RUNNING)
    current_steps: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: How many times a step was entered; tasks carry the round they belong to.
    round: Mapped[int] = mapped_column(Integer, default=1)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    started_by: Mapped[int] = mapped_column(ForeignKey("person.id"))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    outcome: Mapped[str | None] = mapped_column(String(20))
    #: Who moved the instance into its current step(s), and from which step: withdraw needs it.
    last_actor_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    last_step: Mapped[str | None] = mapped_column(String(40))

    __mapper_args__ = {"version_id_col": version}


class WorkflowTask(Model):
    """A step waiting for (or done by) one person. Open tasks of a person are one index read."""

    __tablename__ = "wf_task"
    __table_args__ = (
        Index("ix_wf_task_assignee_status", "assignee_id", "status", "due_at"),
        Index("ix_wf_task_instance_status", "instance_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("wf_instance.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(40))
    round: Mapped[int] = mapped_column(Integer)
    #: Tasks of one group are alternatives (the first to act closes the others); a countersign
    #: step has one group per unit or person, and all groups must act.
    group_key: Mapped[str] = mapped_column(String(40), default="")
    assignee_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    status: Mapped[str] = mapped_column(String(8), default=OPEN)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    due_at: Mapped[datetime | None] = mapped_column(DateTime)
    acted_at: Mapped[datetime | None] = mapped_column(DateTime)
    acted_by: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    action: Mapped[str | None] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")


class WorkflowHistory(Model):
    """One line of an instance's log: who did what, from which step(s) to which."""

    __tablename__ = "wf_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("wf_instance.id", ondelete="CASCADE"),
                                             index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    step: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(16))
    from_steps: Mapped[list[str]] = mapped_column(JSON, default=list)
    to_steps: Mapped[list[str]] = mapped_column(JSON, default=list)
    comment: Mapped[str] = mapped_column(Text, default="")
