"""What the provider says about a person: the standard claims plus org unit and posts.

The claims a relying party receives depend on the scopes it asked for (and was registered for):
``profile`` gives the name, user name, org unit and posts (each ``{"code", "name"}``: codes for
rules, names for people); ``email`` and ``phone`` the contact details. ``sub`` is the person's
id in the portal: stable across renames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.toolkit import OrgUnit, Person, Post, PostAssignment

SCOPES = ("openid", "profile", "email", "phone")
PROFILE_CLAIMS = ("name", "preferred_username", "locale", "org_unit", "posts")


def subject(person_id: int) -> str:
    return str(person_id)


@dataclass(frozen=True)
class Subject:
    """The person a code or token speaks for, read in one query (the token endpoint is hot)."""

    id: int
    username: str
    display_name: str
    email: str | None
    mobile: str | None
    locale: str | None
    unit_code: str | None
    unit_name: str | None
    #: (code, name) of the posts held, by code; ``None`` when not read with the person (then
    #: :func:`claims_for` reads them if the scope asks for them).
    posts: tuple[tuple[str, str], ...] | None = None


def load_subject(db: Session, person_id: int) -> Subject | None:
    """The active person *person_id* with their org unit, or ``None``."""
    row = db.execute(
        select(Person.id, Person.username, Person.display_name, Person.email, Person.mobile,
               Person.locale, OrgUnit.code, OrgUnit.name)
        .outerjoin(OrgUnit, OrgUnit.id == Person.org_unit_id)
        .where(Person.id == person_id, Person.active.is_(True))).first()
    return Subject(*row) if row is not None else None


def claims_for(db: Session, person: Subject, scope: str) -> dict[str, Any]:
    """The claims of *person* that *scope* (space-separated) grants."""
    scopes = set(scope.split())
    claims: dict[str, Any] = {"sub": subject(person.id)}
    if "profile" in scopes:
        claims["name"] = person.display_name
        claims["preferred_username"] = person.username
        if person.locale:
            claims["locale"] = person.locale.replace("_", "-")
        claims["org_unit"] = ({"code": person.unit_code, "name": person.unit_name}
                              if person.unit_code else None)
        posts = person.posts if person.posts is not None else load_posts(db, person.id)
        claims["posts"] = [{"code": code, "name": name} for code, name in posts]
    if "email" in scopes and person.email:
        claims["email"] = person.email
    if "phone" in scopes and person.mobile:
        claims["phone_number"] = person.mobile
    return claims


def load_posts(db: Session, person_id: int) -> tuple[tuple[str, str], ...]:
    """The (code, name) of each post *person_id* holds, once each, by code."""
    return tuple((code, name) for code, name in db.execute(
        select(Post.code, Post.name).join(PostAssignment, PostAssignment.post_id == Post.id)
        .where(PostAssignment.person_id == person_id).order_by(Post.code).distinct()))
