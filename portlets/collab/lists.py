"""The folders of the collaboration pages and portlets: to-do, sent, department, drafts, archive.

One function per folder, shared by the full page and the homepage windows, so a window and the
page it links to always agree.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from portal.toolkit import Principal, subtree_ids
from portlets.collab import access
from portlets.collab.models import WorkItem
from portlets.collab.states import EDITABLE, OPEN, State

BOXES = ("todo", "sent", "dept", "drafts", "archive")
PAGE_SIZE = 20
INBOX_STATES = (State.PENDING.value, State.ESCALATED.value)


def todo_filter(principal: Principal) -> Any:
    """What waits for *principal*: items they hold, their unit's inbox, ratings they owe."""
    held = and_(WorkItem.handler_person_id == principal.person_id,
                WorkItem.state.in_([s.value for s in OPEN | EDITABLE if s != State.DRAFT]))
    to_rate = and_(WorkItem.originator_id == principal.person_id,
                   WorkItem.state == State.FINISHED.value)
    conditions = [held, to_rate]
    inboxes = {principal.org_unit_id, *principal.managed_units} - {None}
    if inboxes:
        conditions.append(and_(WorkItem.handler_person_id.is_(None),
                               WorkItem.handler_unit_id.in_(sorted(inboxes)),
                               WorkItem.state.in_(INBOX_STATES)))
    return or_(*conditions)


def query_for(session: Session, principal: Principal, box: str, text: str = "") -> Select[Any]:
    q = select(WorkItem)
    if box == "todo":
        q = q.where(todo_filter(principal)).order_by(WorkItem.due_at.is_(None),
                                                     WorkItem.due_at, WorkItem.id.desc())
        return q
    if box == "sent":
        q = q.where(WorkItem.originator_id == principal.person_id,
                    WorkItem.state != State.DRAFT.value)
    elif box == "drafts":
        q = q.where(WorkItem.originator_id == principal.person_id,
                    WorkItem.state == State.DRAFT.value)
    elif box == "dept":
        units = list(principal.managed_units) or (
            [principal.org_unit_id] if principal.org_unit_id else [])
        ids: set[int] = set()
        for u in units:
            ids.update(subtree_ids(session, u))
        q = q.where(WorkItem.handler_unit_id.in_(sorted(ids)),
                    WorkItem.state.in_([s.value for s in OPEN]))
    elif box == "archive":
        q = q.where(WorkItem.state == State.ARCHIVED.value, access.visible(session, principal))
        if text:
            like = f"%{text.replace('%', '').replace('_', '')}%"
            q = q.where(or_(WorkItem.subject.like(like), WorkItem.content.like(like),
                            WorkItem.result.like(like)))
    return q.order_by(WorkItem.updated_at.desc(), WorkItem.id.desc())


def box(session: Session, principal: Principal, name: str, number: int = 1,
        text: str = "", size: int = PAGE_SIZE) -> tuple[list[WorkItem], bool]:
    rows = list(session.scalars(query_for(session, principal, name, text)
                                .limit(size + 1).offset((number - 1) * size)))
    return rows[:size], len(rows) > size
