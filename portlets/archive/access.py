"""Who may see a record, and who may register one.

A record is shared with units (``archive_access``); everyone in such a unit or anywhere below
it sees the record. So a person sees what was shared with their own unit or with one of its
ancestors (a record shared with the city bureau is seen in every county), and a leader or
department head also sees what was shared with any unit they manage or one below it. Admins
see everything. Archivists (the office post, or the ``archivist`` role) register paper
records.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.toolkit import OrgUnit, Principal, subtree_ids

ARCHIVIST_POSTS = frozenset({"office"})


def visible_units(session: Session, principal: Principal) -> list[int] | None:
    """Unit ids whose shared records *principal* sees; ``None`` for everything (admins)."""
    if principal.is_admin:
        return None
    ids: set[int] = set()
    if principal.org_unit_id is not None:
        path = session.scalar(select(OrgUnit.path).where(OrgUnit.id == principal.org_unit_id))
        ids.update(int(p) for p in (path or "").split("/") if p.isdigit())
        ids.add(principal.org_unit_id)
    for unit_id in principal.managed_units:
        ids.update(subtree_ids(session, unit_id))
    return sorted(ids)


def may_register(principal: Principal) -> bool:
    return (principal.is_admin or "archivist" in principal.roles
            or bool(ARCHIVIST_POSTS & set(principal.posts)))
