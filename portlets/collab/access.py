"""Who may see a work item, and who somebody is with respect to it.

Participants (originator, every holder and sender, the members of a department whose inbox
holds it), leaders over any unit involved, and admins see an item; nobody else. The same rule is
one SQL filter for lists and queries (``visible``) and one check for a single item (``roles``).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, literal, or_, select, true
from sqlalchemy.orm import Session

from portal.toolkit import OrgUnit, Principal, prefix_match
from portlets.collab.models import WorkItem, WorkParty
from portlets.collab.states import Role


def managed_paths(session: Session, principal: Principal) -> list[str]:
    if not principal.managed_units:
        return []
    return list(session.scalars(select(OrgUnit.path).where(
        OrgUnit.id.in_(principal.managed_units))))


def visible(session: Session, principal: Principal) -> ColumnElement[bool]:
    """Filter on ``WorkItem``: the items *principal* may see (drafts only to their author)."""
    if principal.is_admin:
        return or_(WorkItem.state != "draft", WorkItem.originator_id == principal.person_id)
    conditions = [WorkParty.person_id == principal.person_id]
    conditions += [prefix_match(WorkParty.unit_path, p) for p in managed_paths(session, principal)]
    if principal.org_unit_id is not None:
        # The department inbox: members see what waits in their unit.
        conditions.append(and_(WorkParty.unit_id == principal.org_unit_id,
                               WorkParty.person_id.is_(None)))
    return or_(WorkItem.originator_id == principal.person_id,
               and_(WorkItem.state != "draft", involves(or_(*conditions))))


def involves(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """Some party of the item meets *condition*: a correlated probe of the item's own party
    rows (two to five), written as a scalar subquery with LIMIT 1.

    Not ``EXISTS``: PostgreSQL may turn an EXISTS under OR into a hashed subplan that first
    collects every party of a leader's units (160,000 rows for one department among a
    million items, half a second) although the first page needs twenty items. A scalar
    subquery is never hashed, so the query walks the (state, submitted_at) index and stops
    after a page.
    """
    return select(literal(1)).where(WorkParty.item_id == WorkItem.id, condition) \
        .correlate(WorkItem).limit(1).scalar_subquery().is_not(None)


def roles(session: Session, item: WorkItem, principal: Principal) -> set[Role]:
    """Every role *principal* has on *item*; empty means they may not see it."""
    me = principal.person_id
    out: set[Role] = set()
    if item.originator_id == me:
        out.add(Role.ORIGINATOR)
    if item.state == "draft":
        return out
    if item.handler_person_id == me:
        out.add(Role.HOLDER)
    if item.handler_person_id is None and item.handler_unit_id is not None and (
            item.handler_unit_id == principal.org_unit_id
            or item.handler_unit_id in principal.managed_units):
        out.add(Role.INBOX)  # a member or the head of the department whose inbox holds it
    if item.sender_id == me:
        out.add(Role.SENDER)
    if principal.is_admin:
        out.add(Role.ADMIN)
    paths = managed_paths(session, principal)
    if paths and session.scalar(select(true()).where(
            WorkParty.item_id == item.id,
            or_(*[prefix_match(WorkParty.unit_path, p) for p in paths])).limit(1)):
        out.add(Role.LEADER)
    mine = [WorkParty.person_id == me]
    if principal.org_unit_id is not None:
        mine.append(and_(WorkParty.unit_id == principal.org_unit_id,
                         WorkParty.person_id.is_(None)))
    if not out and session.scalar(select(true()).where(
            WorkParty.item_id == item.id, or_(*mine)).limit(1)):
        # A former holder or sender: sees the item and its trace, may do nothing now.
        out.add(Role.PARTICIPANT)
    return out
