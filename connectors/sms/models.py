"""One row per (notification event, recipient): what was sent where, and how it went."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from portal.toolkit import Model

#: sent, failed (the gateway stayed down; sms.resend tries again), refused (final: a bad number
#: or template), no_number (recipient has no mobile),
#: not_configured (no gateway URL set)
STATUSES = ("sent", "failed", "refused", "no_number", "not_configured")


class SmsDelivery(Model):
    __tablename__ = "sms_delivery"
    __table_args__ = (UniqueConstraint("event_id", "person_id", name="uq_sms_delivery_event"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer, index=True)
    person_id: Mapped[int] = mapped_column(Integer)
    phone: Mapped[str] = mapped_column(String(20), default="")
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    biz_id: Mapped[str] = mapped_column(String(64), default="")
    error: Mapped[str] = mapped_column(String(300), default="")
    at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
