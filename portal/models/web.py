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
    # Optimistic locking: the ORM adds "WHERE version = <read>" to every UPDATE, so two tabs
    # saving the same page can never silently overwrite each other.
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime, server_default=func.now(), onupdate=func.now()
    )
    __mapper_args__ = {"version_id_col": version}


class LayoutVersion(Model):
    """One published version of a post's layout. The newest is what the post's users get.

    Versions are never changed or deleted: rolling back publishes an old document again, so
    the history always says who put what in front of the users and when.
    """

    __tablename__ = "layout_version"
    __table_args__ = (UniqueConstraint("post", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, object]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(20))  # file | editor | import | rollback
    note: Mapped[str] = mapped_column(String(200), default="")
    author: Mapped[str] = mapped_column(String(64), default="")
    # SHA-256 of the layout file this version was imported from, so an unchanged file is not
    # published twice.
    file_sha: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
