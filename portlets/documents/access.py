"""Who may see an outgoing document or an incoming record.

Outgoing: the drafter, anyone who holds or held a task on it, the office and leaders (they
handle every document), members of the countersigning units, the recipient units once it is
dispatched, and administrators. Incoming: the members of the receiving unit and its managers,
anyone with a task on it, leaders and administrators.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.toolkit import Principal, WorkflowTask
from portlets.documents.models import Document, Incoming

ALL_SEEING_POSTS = ("office", "leader")


def _had_task(db: Session, instance_id: int | None, person_id: int) -> bool:
    if instance_id is None:
        return False
    return db.scalar(select(WorkflowTask.id).where(
        WorkflowTask.instance_id == instance_id,
        WorkflowTask.assignee_id == person_id).limit(1)) is not None


def _in_unit(principal: Principal, unit_id: int) -> bool:
    return principal.org_unit_id == unit_id or unit_id in principal.managed_units


def can_see_document(db: Session, principal: Principal, doc: Document) -> bool:
    if principal.is_admin or doc.drafter_id == principal.person_id:
        return True
    if any(post in principal.posts for post in ALL_SEEING_POSTS):
        return True
    if any(_in_unit(principal, u) for u in doc.countersign_units or ()):
        return True
    if doc.dispatched_at and any(_in_unit(principal, u) for u in doc.recipient_units or ()):
        return True
    return _had_task(db, doc.instance_id, principal.person_id)


def can_see_incoming(db: Session, principal: Principal, inc: Incoming) -> bool:
    if principal.is_admin or "leader" in principal.posts or _in_unit(principal, inc.unit_id):
        return True
    return _had_task(db, inc.instance_id, principal.person_id)
