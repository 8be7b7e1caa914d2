"""One row per (notification event, recipient) the mail channel handled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from portal.toolkit import Model

#: sent, refused (the server refused the recipient), no_address, not_configured
STATUSES = ("sent", "refused", "no_address", "not_configured")


class MailDelivery(Model):
    __tablename__ = "mail_delivery"
    __table_args__ = (UniqueConstraint("event_id", "person_id", name="uq_mail_delivery_event"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer, index=True)
    person_id: Mapped[int] = mapped_column(Integer)
    address: Mapped[str] = mapped_column(String(120), default="")
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str] = mapped_column(String(300), default="")
    at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
