"""The approval tables: a request, its chain of steps, and its history.

The chain is materialised when the request is submitted (who may act at each step, and which
conditional steps apply), so a later change of posts never reroutes a request in flight.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.toolkit import Model


class ApprovalRequest(Model):
    """pending → approved | rejected | withdrawn. ``version`` guards every action."""

    __tablename__ = "approvals_request"
    __table_args__ = (Index("ix_approvals_request_applicant_status", "applicant_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # leave | purchase | generic
    title: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    current_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    steps: Mapped[list[ApprovalStep]] = relationship(order_by="ApprovalStep.seq",
                                                     back_populates="request")
    history: Mapped[list[ApprovalEvent]] = relationship(order_by="ApprovalEvent.id")

    __mapper_args__ = {"version_id_col": version}


class ApprovalStep(Model):
    """One node of the chain. ``candidates`` is ``,3,17,`` — anyone listed may act (a post
    held by several people is one step any of them can take); the delimiters make the to-do
    query one portable LIKE."""

    __tablename__ = "approvals_step"
    __table_args__ = (Index("ix_approvals_step_status", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("approvals_request.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    node: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(80))
    candidates: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(12), default="waiting")  # waiting|open|done
    decision: Mapped[str | None] = mapped_column(String(12))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    comment: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[datetime | None] = mapped_column(DateTime)
    due_at: Mapped[datetime | None] = mapped_column(DateTime)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)

    request: Mapped[ApprovalRequest] = relationship(back_populates="steps")

    def candidate_ids(self) -> list[int]:
        return [int(x) for x in self.candidates.strip(",").split(",") if x]


class ApprovalEvent(Model):
    """A line of the history: submitted, approved, rejected, withdrawn (append-only)."""

    __tablename__ = "approvals_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("approvals_request.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    action: Mapped[str] = mapped_column(String(12))
    node: Mapped[str] = mapped_column(String(80), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
