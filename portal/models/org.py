"""Organisation units (a tree), people, posts (job roles) and who holds which post."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Model

#: 市局 → 县/区局 → 营销部 / 专卖所 / 物流中心 / 职能部门
ORG_KINDS = ("city", "county", "marketing", "monopoly", "logistics", "department")


class OrgUnit(Model):
    __tablename__ = "org_unit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    #: Materialised path of ids ("/1/4/17/"): subtree queries are one indexed prefix match.
    path: Mapped[str] = mapped_column(String(255), index=True, default="/")

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<OrgUnit {self.code} {self.name}>"


class Post(Model):
    """A job role (岗位) such as 专管员 or 客户经理; ``roles`` grant permissions."""

    __tablename__ = "post"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(60), default="")
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)


class Person(Model):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), index=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(120))
    mobile: Mapped[str | None] = mapped_column(String(20))
    #: Local directory only; people who sign in through LDAP or a certificate have none.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())

    org_unit: Mapped[OrgUnit | None] = relationship()
    assignments: Mapped[list[PostAssignment]] = relationship(
        back_populates="person", cascade="all, delete-orphan"
    )


class PostAssignment(Model):
    """Person holds post, in an org unit. ``manages`` marks the head of that unit."""

    __tablename__ = "post_assignment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id"), index=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    manages: Mapped[bool] = mapped_column(Boolean, default=False)

    person: Mapped[Person] = relationship(back_populates="assignments")
    post: Mapped[Post] = relationship()
