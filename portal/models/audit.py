"""The append-only audit log: who did what, when, from where."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Integer, String, event, func
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Model


class AuditEntry(Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now(), index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(128), default="")
    address: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


class AuditLogIsAppendOnly(RuntimeError):
    pass


def _refuse(*_args: object) -> None:
    raise AuditLogIsAppendOnly("audit entries cannot be changed or deleted")


# The ORM refuses here; the migration adds database triggers so raw SQL is refused too.
event.listen(AuditEntry, "before_update", _refuse)
event.listen(AuditEntry, "before_delete", _refuse)
