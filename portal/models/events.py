"""The outbox: domain events written in the same transaction as the change they describe."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Model


class OutboxEvent(Model):
    __tablename__ = "outbox_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))


class OutboxDelivery(Model):
    """One plugin handled one event. Written in the same savepoint as the handler's own writes,
    so a retry after a crash or after another plugin failed never runs a handler twice."""

    __tablename__ = "outbox_delivery"
    __table_args__ = (UniqueConstraint("event_id", "plugin"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_event.id", ondelete="CASCADE"))
    plugin: Mapped[str] = mapped_column(String(100))
    delivered_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
