"""Who may see a request, and the lists the pages, portlet, to-do list and calendar show."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from portal.toolkit import Principal, gettext
from portlets.approvals.errors import NotFound
from portlets.approvals.models import ApprovalRequest, ApprovalStep


def may_see(session: Session, me: Principal, request: ApprovalRequest) -> bool:
    """The applicant, anyone on the chain, and admins."""
    if me.is_admin or request.applicant_id == me.person_id:
        return True
    return any(me.person_id in s.candidate_ids() for s in request.steps)


def load(session: Session, me: Principal, request_id: int) -> ApprovalRequest:
    request = session.get(ApprovalRequest, request_id)
    if request is None or not may_see(session, me, request):
        raise NotFound(gettext("No such request."))
    return request


def mine(session: Session, me: Principal, limit: int = 100) -> list[ApprovalRequest]:
    return list(session.scalars(select(ApprovalRequest).where(
        ApprovalRequest.applicant_id == me.person_id)
        .order_by(ApprovalRequest.created_at.desc()).limit(limit)))


def waiting(session: Session, me: Principal, limit: int = 100) -> list[tuple[ApprovalStep,
                                                                              ApprovalRequest]]:
    rows = session.execute(select(ApprovalStep, ApprovalRequest)
                           .join(ApprovalRequest, ApprovalRequest.id == ApprovalStep.request_id)
                           .where(ApprovalStep.status == "open",
                                  ApprovalStep.candidates.contains(f",{me.person_id},"))
                           .order_by(ApprovalStep.due_at).limit(limit)).all()
    return [(step, req) for step, req in rows]


def decided_by_me(session: Session, me: Principal, limit: int = 50) -> list[ApprovalRequest]:
    ids = select(ApprovalStep.request_id).where(ApprovalStep.actor_id == me.person_id)
    return list(session.scalars(select(ApprovalRequest).where(ApprovalRequest.id.in_(ids))
                                .order_by(ApprovalRequest.created_at.desc()).limit(limit)))


def leave_between(session: Session, me: Principal, start: datetime,
                  end: datetime) -> list[ApprovalRequest]:
    """My leave requests (pending or approved) whose days touch [start, end)."""
    rows = session.scalars(select(ApprovalRequest).where(
        ApprovalRequest.applicant_id == me.person_id, ApprovalRequest.kind == "leave",
        or_(ApprovalRequest.status == "pending", ApprovalRequest.status == "approved"))
        .order_by(ApprovalRequest.created_at.desc()).limit(200))
    out = []
    for r in rows:
        first = datetime.fromisoformat(r.data["first_day"])
        last = datetime.fromisoformat(r.data["last_day"])
        if first < end and last >= start.replace(hour=0, minute=0, second=0):
            out.append(r)
    return out
