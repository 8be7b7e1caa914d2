"""``portal ldap sync``: the portal's people, org units and group-derived posts made to match
the directory, in one transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.toolkit import OrgUnit, Person
from sso.ldap.directory import Directory, Entry
from sso.ldap.models import DirectoryLink
from sso.provisioning import ProvisioningError, ProvisioningRules, provision_with_outcome

log = logging.getLogger(__name__)
SEEN_RESOLUTION = timedelta(hours=1)
UNIT_KINDS = ("city", "county", "marketing", "monopoly", "logistics", "department")


class SyncError(RuntimeError):
    """The sync would do harm (an empty directory would deactivate everyone)."""


@dataclass
class SyncSummary:
    units_created: int = 0
    units_updated: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: list[str] = field(default_factory=list)
    deactivated_ids: list[int] = field(default_factory=list)
    reactivated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"org units: {self.units_created} created, {self.units_updated} updated",
               f"people: {self.created} created, {self.updated} updated, {self.unchanged} "
               f"unchanged, {len(self.deactivated)} deactivated, {len(self.reactivated)} "
               f"reactivated, {len(self.skipped)} skipped"]
        out += [f"  deactivated: {name}" for name in self.deactivated]
        out += [f"  reactivated: {name}" for name in self.reactivated]
        out += [f"  skipped: {reason}" for reason in self.skipped]
        return out


def link(db: Session, person: Person, dn: str, now: datetime) -> DirectoryLink:
    """Record that the directory vouches for *person* (flushes a new person for its id)."""
    if person.id is None:
        db.flush()
    row = db.get(DirectoryLink, person.id)
    if row is None:
        row = DirectoryLink(person_id=person.id, dn=dn, seen_at=now, gone=False)
        db.add(row)
    elif row.dn != dn or now - row.seen_at > SEEN_RESOLUTION:
        # Not written at every sign-in: the date only tells an administrator when the
        # directory last vouched for the person, and a write per sign-in costs.
        row.dn, row.seen_at = dn, now
    return row


def sync(db: Session, directory: Directory, rules: ProvisioningRules,
         now: datetime | None = None) -> SyncSummary:
    """Bring *db* in line with *directory*; the caller commits. Raises ``DirectoryUnavailable``
    (nothing changed) or ``SyncError``."""
    now = now or datetime.now()
    summary = SyncSummary()
    unit_entries = directory.units()
    people = directory.people()
    if not people:
        raise SyncError(f"the directory has no people under {directory.config.base_dn!r} "
                        "matching LDAP_USER_FILTER; nothing was changed")
    _sync_units(db, unit_entries, directory.config.units_dn, summary)
    seen: set[int] = set()
    for entry in people:
        try:
            result = provision_with_outcome(db, entry.attributes, rules)
        except ProvisioningError as exc:
            summary.skipped.append(f"{entry.dn}: {exc}")
            continue
        person = result.person
        setattr(summary, result.outcome, getattr(summary, result.outcome) + 1)
        row = link(db, person, entry.dn, now)
        seen.add(person.id)
        if row.gone:
            row.gone = False
            if not person.active:
                person.active = True
                summary.reactivated.append(person.username)
    for row, person in db.execute(
            select(DirectoryLink, Person).join(Person, Person.id == DirectoryLink.person_id)):
        if row.person_id in seen or not person.active:
            continue
        person.active = False
        row.gone = True
        summary.deactivated.append(person.username)
        summary.deactivated_ids.append(person.id)
    db.flush()
    return summary


def _parent_dn(dn: str) -> str:
    parts = dn.split(",", 1)
    return parts[1].strip().lower() if len(parts) == 2 else ""


def _sync_units(db: Session, entries: list[Entry], container: str,
                summary: SyncSummary) -> None:
    """Units mirror the tree under LDAP_UNITS_DN: ``ou`` is the code, ``description`` the name,
    ``businessCategory`` the kind; the parent is the entry above."""
    container_key = container.strip().lower()
    units = [e for e in entries if e.dn.strip().lower() != container_key and e.first("ou")]
    units.sort(key=lambda e: e.dn.count(","))  # parents first
    code_of = {e.dn.strip().lower(): e.first("ou") for e in units}
    by_code = {u.code: u for u in db.scalars(select(OrgUnit))}
    for entry in units:
        code = str(entry.first("ou"))
        name = (entry.first("description") or code)[:100]
        kind = entry.first("businessCategory") or "department"
        if kind not in UNIT_KINDS:
            kind = "department"
        parent_code = code_of.get(_parent_dn(entry.dn))
        parent = by_code.get(parent_code) if parent_code else None
        unit = by_code.get(code)
        if unit is None:
            unit = OrgUnit(code=code, name=name, kind=kind,
                           parent_id=parent.id if parent else None)
            db.add(unit)
            db.flush()
            by_code[code] = unit
            summary.units_created += 1
        elif (unit.name, unit.kind, unit.parent_id) != (name, kind,
                                                       parent.id if parent else None):
            unit.name, unit.kind = name, kind
            unit.parent_id = parent.id if parent else None
            summary.units_updated += 1
        path = f"{parent.path if parent else '/'}{unit.id}/"
        if unit.path != path:
            unit.path = path
