"""The calendar plugin's one table: personal subscription tokens (created by its migration)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.toolkit import Model


class Feed(Model):
    """A person's iCalendar subscription: only the SHA-256 of the token is kept, so that a
    copy of the database does not open anyone's calendar. One per person; regenerating
    replaces it, revoking deletes it."""

    __tablename__ = "cal_feed"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    #: The last time a calendar application fetched it (shown on the page).
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
