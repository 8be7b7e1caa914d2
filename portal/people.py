"""Reading people: building the session's ``Principal``, org subtrees, posts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import current_app
from sqlalchemy import and_, bindparam, case, inspect, literal, select
from sqlalchemy.orm import Session

from portal.auth import Principal
from portal.models import OrgUnit, Person, Post, PostAssignment
from portal.query import PREFIX_END, prefix_match, run


def loaded_assignments(person: Person | None) -> list[PostAssignment] | None:
    """*person*'s post assignments with their posts when both are already loaded in the
    session (as sign-in's provisioning loads them), else ``None``: read them with a query."""
    if person is None or "assignments" in inspect(person).unloaded:
        return None
    assignments = list(person.assignments)
    if any("post" in inspect(a).unloaded or a.post is None for a in assignments):
        return None
    return assignments


def principal_for(session: Session, person: Person, auth_method: str = "password") -> Principal:
    """The session's view of *person*: posts, the roles they grant, units they manage.

    Three small queries, or none when *person*'s assignments are already loaded (sign-in:
    provisioning has just read them, and a sign-in is the one moment this runs).
    """
    base = Principal(person_id=person.id, username=person.username,
                     display_name=person.display_name, org_unit_id=person.org_unit_id,
                     locale=person.locale, auth_method=auth_method)
    pm = current_app.extensions["portal"].plugins
    posts = pm.hook.portal_posts_for(principal=base, person=person) or []
    loaded = loaded_assignments(person)
    roles: set[str] = set()
    known = {a.post.code: a.post for a in loaded or []}
    if posts and all(code in known for code in posts):
        for code in posts:
            roles.update(known[code].roles or [])
    elif posts:
        for post_roles in session.scalars(select(Post.roles).where(Post.code.in_(posts))):
            roles.update(post_roles or [])
    managed: Iterable[int | None] = (
        [a.org_unit_id for a in loaded if a.manages] if loaded is not None else
        session.scalars(select(PostAssignment.org_unit_id).where(
            PostAssignment.person_id == person.id, PostAssignment.manages.is_(True))))
    return Principal(
        person_id=base.person_id, username=base.username, display_name=base.display_name,
        org_unit_id=base.org_unit_id, posts=tuple(posts), roles=tuple(sorted(roles)),
        locale=person.locale, auth_method=auth_method,
        managed_units=tuple(u for u in managed if u is not None),
    )


def subtree_ids(session: Session, unit_id: int) -> list[int]:
    """Ids of *unit_id* and every unit below it (one indexed prefix query)."""
    unit = session.get(OrgUnit, unit_id)
    if unit is None:
        return []
    return list(session.scalars(select(OrgUnit.id).where(prefix_match(OrgUnit.path, unit.path))))


def people_in_units(session: Session, unit_ids: list[int]) -> list[int]:
    return list(session.scalars(
        select(Person.id).where(Person.org_unit_id.in_(unit_ids), Person.active.is_(True))))


def people_with_posts(session: Session, post_codes: list[str]) -> list[int]:
    return list(session.scalars(
        select(PostAssignment.person_id).join(Post).where(Post.code.in_(post_codes)).distinct()))


#: Units below a county that own no customers themselves: their customers are the county's.
SUB_DEPARTMENT_KINDS = ("monopoly", "marketing", "logistics")


def _scope_query() -> Any:
    """Every unit below the given roots, a 专卖所/营销部/配送站 root standing for its county:
    what ``customer_scope`` computes, in one prebuilt statement (it runs on every render of the
    customer windows; three ORM round trips cost more than the answer)."""
    unit, root, sub = (OrgUnit.__table__.alias(n) for n in ("u", "root", "sub"))
    stands_for = case((unit.c.kind.in_(SUB_DEPARTMENT_KINDS) & unit.c.parent_id.is_not(None),
                       unit.c.parent_id), else_=unit.c.id)
    roots = select(stands_for).where(unit.c.id.in_(bindparam("roots", expanding=True)))
    within = and_(sub.c.path >= root.c.path, sub.c.path < root.c.path + literal(PREFIX_END))
    return select(sub.c.id).distinct().join(root, within).where(root.c.id.in_(roots))


SCOPE = _scope_query()


def customer_scope(session: Session, principal: Principal) -> list[int]:
    """Org unit ids whose customers *principal* oversees.

    Customers hang on county units (or the city), while people sit in the 专卖所 / 营销部 /
    配送站 below them; a unit of those kinds stands for its county. Managed units count where
    the person manages any, else their own unit. Admins see everything.
    """
    if principal.is_admin:
        return list(session.scalars(select(OrgUnit.id)))
    roots = list(principal.managed_units) or (
        [principal.org_unit_id] if principal.org_unit_id else [])
    if not roots:
        return []
    return sorted(run(SCOPE, {"roots": roots}, session=session).scalars())
