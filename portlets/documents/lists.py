"""The lists behind the pages and portlets: my document tasks, outgoing documents, a unit's
incoming documents (with whether I have read each)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import get_locale
from sqlalchemy import ColumnElement, and_, bindparam, case, or_, select, true
from sqlalchemy.orm import Session

from portal.toolkit import Principal, WorkflowInstance, WorkflowTask, run_prepared
from portlets.documents.access import ALL_SEEING_POSTS
from portlets.documents.models import Document, Incoming, Reading
from portlets.documents.service import INCOMING, OUTGOING, SUBJECT_DOC, SUBJECT_INCOMING


def step_name(definition_id: str, step: str) -> str:
    """The step's name in the page's language (the definitions carry both)."""
    d = current_app.extensions["portal"].workflows.get(definition_id)
    if d is None or step not in d.steps:
        return step
    s = d.steps[step]
    return s.name_en if str(get_locale()).startswith("en") else s.name


def approve_label(definition_id: str, step: str) -> str:
    d = current_app.extensions["portal"].workflows.get(definition_id)
    if d is None or step not in d.steps:
        return ""
    s = d.steps[step]
    return (s.approve_label_en if str(get_locale()).startswith("en") else s.approve_label)


@dataclass(frozen=True)
class TaskRow:
    task_id: int
    definition_id: str
    subject_id: int
    title: str
    step: str
    due_at: datetime | None
    created_at: datetime

    @property
    def url(self) -> str:
        if self.definition_id == INCOMING:
            return f"/documents/incoming/{self.subject_id}"
        return f"/documents/{self.subject_id}"

    @property
    def kind(self) -> str:
        return "incoming" if self.definition_id == INCOMING else "outgoing"


def _tasks_query() -> Any:
    task, inst = WorkflowTask.__table__.c, WorkflowInstance.__table__.c
    return (select(task.id, inst.definition_id, inst.subject_id, inst.data, task.step,
                   task.due_at, task.created_at)
            .join_from(WorkflowTask.__table__, WorkflowInstance.__table__,
                       inst.id == task.instance_id)
            .where(task.assignee_id == bindparam("person_id"), task.status == "open",
                   inst.definition_id.in_((OUTGOING, INCOMING)))
            .order_by(case((task.due_at.is_(None), 1), else_=0), task.due_at, task.id)
            .limit(bindparam("limit")))


#: Built once: the to-do window asks on every request when the portlet cache is off.
MY_TASKS = _tasks_query()


def my_tasks(db: Session, person_id: int, limit: int = 50) -> list[TaskRow]:
    rows = run_prepared(MY_TASKS, {"person_id": person_id, "limit": limit}, session=db)
    return [TaskRow(r[0], r[1], r[2], str((r[3] or {}).get("title") or ""), r[4], r[5], r[6])
            for r in rows]


def outgoing_visible(me: Principal) -> ColumnElement[bool]:
    """The rows of ``doc_document`` the outgoing list shows *me*: documents I drafted or
    hold or held a task on; all of them for the office, leaders and admins. The unified
    search uses the same clause, so it never finds what the list would not show."""
    if me.is_admin or any(p in me.posts for p in ALL_SEEING_POSTS):
        return true()
    mine = (select(WorkflowInstance.subject_id)
            .join(WorkflowTask, WorkflowTask.instance_id == WorkflowInstance.id)
            .where(WorkflowInstance.subject_type == SUBJECT_DOC,
                   WorkflowTask.assignee_id == me.person_id))
    return or_(Document.drafter_id == me.person_id, Document.id.in_(mine))


def outgoing(db: Session, me: Principal, limit: int = 100) -> list[Document]:
    """Documents I drafted or acted on; everything for the office, leaders and admins."""
    query = (select(Document).where(outgoing_visible(me))
             .order_by(Document.updated_at.desc(), Document.id.desc()))
    return list(db.scalars(query.limit(limit)))


@dataclass(frozen=True)
class IncomingRow:
    incoming: Incoming
    document: Document
    read: bool


def incoming_visible(me: Principal) -> ColumnElement[bool]:
    """The rows of ``doc_incoming`` the incoming list shows *me*: those of my unit and the
    units I manage; all of them for leaders and admins (also used by the unified search)."""
    if me.is_admin or "leader" in me.posts:
        return true()
    units = {*me.managed_units, *([me.org_unit_id] if me.org_unit_id else [])}
    return Incoming.unit_id.in_(units)


def incoming(db: Session, me: Principal, limit: int = 100) -> list[IncomingRow]:
    """The incoming documents of my unit (and the units I manage; all for leaders and
    admins), newest first, with whether I have opened each."""
    query = (select(Incoming, Document, Reading.id)
             .join(Document, Document.id == Incoming.document_id)
             .outerjoin(Reading, and_(Reading.incoming_id == Incoming.id,
                                      Reading.person_id == me.person_id))
             .where(incoming_visible(me))
             .order_by(Incoming.received_at.desc(), Incoming.id.desc()))
    return [IncomingRow(i, d, r is not None) for i, d, r in db.execute(query.limit(limit))]


__all__ = ["SUBJECT_INCOMING", "IncomingRow", "TaskRow", "approve_label", "incoming",
           "incoming_visible", "my_tasks", "outgoing", "outgoing_visible", "step_name"]
