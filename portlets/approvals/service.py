"""Who may see a request, and the lists the pages, portlet, to-do list and calendar show."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.toolkit import Principal, WorkflowTask, gettext
from portlets.approvals.errors import NotFound
from portlets.approvals.models import ApprovalRequest


def may_see(session: Session, me: Principal, request: ApprovalRequest) -> bool:
    """The applicant, the approvers it names (a general request) or that were given a task on
    its chain, and admins."""
    if me.is_admin or request.applicant_id == me.person_id:
        return True
    if me.person_id in (request.data.get("approvers") or []):
        return True
    return session.scalar(select(WorkflowTask.id).where(
        WorkflowTask.instance_id == request.instance_id,
        WorkflowTask.assignee_id == me.person_id).limit(1)) is not None


def load(session: Session, me: Principal, request_id: int) -> ApprovalRequest:
    request = session.get(ApprovalRequest, request_id)
    if request is None or request.instance_id is None or not may_see(session, me, request):
        raise NotFound(gettext("No such request."))
    return request


def by_instance(session: Session, me: Principal, instance_id: int) -> ApprovalRequest:
    request = session.scalars(select(ApprovalRequest).where(
        ApprovalRequest.instance_id == instance_id)).first()
    if request is None or not may_see(session, me, request):
        raise NotFound(gettext("No such request."))
    return request


def mine(session: Session, me: Principal, limit: int = 100) -> list[ApprovalRequest]:
    return list(session.scalars(select(ApprovalRequest).where(
        ApprovalRequest.applicant_id == me.person_id)
        .order_by(ApprovalRequest.created_at.desc(), ApprovalRequest.id.desc()).limit(limit)))


def waiting(session: Session, me: Principal,
            limit: int = 100) -> list[tuple[WorkflowTask, ApprovalRequest]]:
    """Approval steps waiting for *me* (not my own returned requests), nearest due first."""
    rows = session.execute(select(WorkflowTask, ApprovalRequest)
                           .join(ApprovalRequest,
                                 ApprovalRequest.instance_id == WorkflowTask.instance_id)
                           .where(WorkflowTask.assignee_id == me.person_id,
                                  WorkflowTask.status == "open")
                           .order_by(WorkflowTask.due_at, WorkflowTask.id).limit(limit)).all()
    return [(task, req) for task, req in rows]


def decided_by_me(session: Session, me: Principal, limit: int = 50) -> list[ApprovalRequest]:
    ids = select(WorkflowTask.instance_id).where(WorkflowTask.acted_by == me.person_id)
    return list(session.scalars(select(ApprovalRequest).where(
        ApprovalRequest.instance_id.in_(ids), ApprovalRequest.applicant_id != me.person_id)
        .order_by(ApprovalRequest.created_at.desc()).limit(limit)))


def leave_between(session: Session, me: Principal, start: datetime,
                  end: datetime) -> list[ApprovalRequest]:
    """My leave requests (in approval or approved) whose days touch [start, end)."""
    rows = session.scalars(select(ApprovalRequest).where(
        ApprovalRequest.applicant_id == me.person_id, ApprovalRequest.kind == "leave",
        ApprovalRequest.status.in_(("pending", "approved")))
        .order_by(ApprovalRequest.created_at.desc()).limit(200))
    out = []
    for r in rows:
        first = datetime.fromisoformat(r.data["first_day"])
        last = datetime.fromisoformat(r.data["last_day"])
        if first < end and last >= start.replace(hour=0, minute=0, second=0):
            out.append(r)
    return out
