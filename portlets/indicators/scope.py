"""Who may see whose figures: a person their own, a department head their unit's people and
unit, a leader (or admin) the whole city. Every view and export asks here."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.indicators import unit_rollup
from portal.toolkit import OrgUnit, Person, Principal, prefix_match


@dataclass(frozen=True)
class Scope:
    #: The city unit; None when the org has no single root, and for a scope of one's own
    #: figures (nothing there is shown by unit).
    city_id: int | None
    city: bool
    units: frozenset[int]
    people: frozenset[int] | None  # None: everybody

    def can_see(self, level: str, subject_id: int) -> bool:
        if self.city:
            return True
        if level == "person":
            return self.people is not None and subject_id in self.people
        if level == "unit":
            return subject_id in self.units
        return False

    @property
    def is_team(self) -> bool:
        return bool(self.units) and not self.city


def scope_for(session: Session, principal: Principal) -> Scope:
    if not (principal.is_admin or "leader" in principal.roles or "leader" in principal.posts
            or principal.managed_units):
        # Most people see their own figures only, which needs nothing of the org tree: the
        # homepage of every 专管员, 客户经理 and 送货员 is spared reading it.
        return Scope(None, False, frozenset(), frozenset({principal.person_id}))
    city, rollup = unit_rollup(session)
    if principal.is_admin or "leader" in principal.roles or "leader" in principal.posts:
        return Scope(city, True, frozenset(set(rollup.values())), None)
    people = {principal.person_id}
    units: set[int] = set()
    for unit_id in principal.managed_units:
        unit = session.get(OrgUnit, unit_id)
        if unit is None:
            continue
        if unit.parent_id is None:  # manages the city itself
            return Scope(city, True, frozenset(set(rollup.values())), None)
        units.add(rollup.get(unit_id, unit_id))
        sub = select(OrgUnit.id).where(prefix_match(OrgUnit.path, unit.path))
        people.update(session.scalars(select(Person.id).where(Person.org_unit_id.in_(sub))))
    return Scope(city, False, frozenset(units), frozenset(people))
