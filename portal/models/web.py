"""State of the web tier kept in the database: sessions (embedded mode) and personal layouts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Model


class WebSession(Model):
    """Server-side session when no Redis is configured; the cookie carries only the id."""

    __tablename__ = "web_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int | None] = mapped_column(Integer, index=True)
    data: Mapped[str] = mapped_column(String)
    created_at: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float, index=True)


class UserLayout(Model):
    """A user's own changes to a post page, stored as a diff over the post layout."""

    __tablename__ = "user_layout"
    __table_args__ = (UniqueConstraint("person_id", "page_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    page_key: Mapped[str] = mapped_column(String(80))
    diff: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime, server_default=func.now(), onupdate=func.now()
    )
