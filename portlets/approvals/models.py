"""The approvals table: the request's form data. Its route through the chain (tasks, history,
version) lives in the workflow engine's tables, linked by ``instance_id``; ``status`` mirrors
the instance so lists need no join (pending, returned, withdrawn, approved)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.toolkit import Model


class ApprovalRequest(Model):
    __tablename__ = "approvals_request"
    __table_args__ = (Index("ix_approvals_request_applicant_status", "applicant_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # leave | purchase | generic
    title: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
