"""Turning a step's assignee rule into groups of people, against the organisation tables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import OrgUnit, Person, Post, PostAssignment
from portal.workflow.definition import UNIT_SCOPES, Assignee


def _ids(value: Any) -> list[int]:
    """A person or unit id, or a list of them, from the instance data; junk is dropped."""
    values = value if isinstance(value, list | tuple) else [value]
    out: list[int] = []
    for v in values:
        try:
            out.append(int(v))
        except (TypeError, ValueError):
            continue
    return list(dict.fromkeys(out))


def _units(db: Session, rule: Assignee, initiator: int,
           data: Mapping[str, Any]) -> list[int] | None:
    """The units the rule looks in; ``None`` means anywhere."""
    if rule.unit is None:
        return None
    if rule.unit in ("initiator", "initiator.parent"):
        person = db.get(Person, initiator)
        unit = db.get(OrgUnit, person.org_unit_id) if person and person.org_unit_id else None
        if unit is not None and rule.unit == "initiator.parent":
            unit = db.get(OrgUnit, unit.parent_id) if unit.parent_id else None
        return [unit.id] if unit else []
    if rule.unit.startswith("data:"):
        return _ids(data.get(rule.unit[5:]))
    return list(db.scalars(select(OrgUnit.id).where(OrgUnit.code == rule.unit)))


def resolve(db: Session, rule: Assignee, *, initiator: int,
            data: Mapping[str, Any]) -> list[tuple[str, list[int]]]:
    """``(group key, person ids)`` pairs, groups in a stable order, people active only.

    A plain step gives one group (whoever of them acts first); a countersign gives one group
    per unit or per person (``each``). An empty list means nobody fits: the caller refuses.
    With ``exclude_initiator`` the initiator is never in a group (a countersign group left
    empty is dropped: the initiator's own unit agreed by initiating); when that leaves nobody,
    rules scoped to the initiator's unit climb the unit tree, then ``fallback`` is tried.
    """
    if rule.initiator:
        return [("", [initiator])]
    skip = initiator if rule.exclude_initiator else None
    if rule.person is not None:
        wanted = _ids(data.get(rule.person[5:]))
        active = set(db.scalars(select(Person.id).where(Person.id.in_(wanted),
                                                       Person.active.is_(True))))
        people = [p for p in wanted if p in active and p != skip]
        if rule.each == "person":
            groups = [(str(p), [p]) for p in people]
        else:
            groups = [("", people)] if people else []
    else:
        units = _units(db, rule, initiator, data)
        groups = _holders(db, rule, units, skip)
        if not groups and skip is not None and rule.unit in UNIT_SCOPES and units:
            unit_id: int | None = units[0]
            while not groups and unit_id is not None:
                unit_id = db.scalar(select(OrgUnit.parent_id).where(OrgUnit.id == unit_id))
                if unit_id is not None:
                    groups = _holders(db, rule, [unit_id], skip)
    if not groups and rule.fallback is not None:
        return resolve(db, rule.fallback, initiator=initiator, data=data)
    return groups


def _holders(db: Session, rule: Assignee, units: list[int] | None,
             skip: int | None) -> list[tuple[str, list[int]]]:
    """The active holders of the rule's post/role in *units* (``None``: anywhere), but
    *skip*, grouped as the rule says."""
    query = (select(PostAssignment.person_id, PostAssignment.org_unit_id, Post.roles)
             .join(Post, Post.id == PostAssignment.post_id)
             .join(Person, Person.id == PostAssignment.person_id)
             .where(Person.active.is_(True)).order_by(PostAssignment.person_id))
    if rule.post:
        query = query.where(Post.code == rule.post)
    if units is not None:
        query = query.where(PostAssignment.org_unit_id.in_(units))
    if rule.manages:
        query = query.where(PostAssignment.manages.is_(True))
    if skip is not None:
        query = query.where(PostAssignment.person_id != skip)
    by_unit: dict[int, list[int]] = {}
    for person_id, unit_id, roles in db.execute(query):
        if rule.role and rule.role not in (roles or []):
            continue
        members = by_unit.setdefault(unit_id or 0, [])
        if person_id not in members:
            members.append(person_id)
    if rule.each == "unit":
        order = units if units is not None else sorted(by_unit)
        return [(str(u), by_unit[u]) for u in order if by_unit.get(u)]
    people = list(dict.fromkeys(p for members in by_unit.values() for p in members))
    if rule.each == "person":
        return [(str(p), [p]) for p in people]
    return [("", people)] if people else []
