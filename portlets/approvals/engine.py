"""A small stand-in for the portal workflow engine, with its API: ``start``, ``open_tasks``,
``act``, ``withdraw``, ``history``. Errors carry the engine's statuses: out of turn 403,
stale 409, invalid action 422. When ``portal.workflow`` lands, these functions become thin
calls to it and the views and tests stay as they are.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.toolkit import Principal, gettext
from portlets.approvals.chain import plan
from portlets.approvals.errors import Conflict, Forbidden, Invalid
from portlets.approvals.models import ApprovalEvent, ApprovalRequest, ApprovalStep

ACTIONS = ("approve", "reject", "withdraw")


def start(session: Session, kind: str, *, initiator: Principal, title: str,
          data: dict[str, Any], chosen: list[int] | None = None,
          now: datetime | None = None) -> ApprovalRequest:
    now = now or datetime.now()
    steps = plan(session, kind, data, initiator.person_id, initiator.org_unit_id, chosen or [])
    request = ApprovalRequest(kind=kind, title=title, data=data,
                              applicant_id=initiator.person_id, unit_id=initiator.org_unit_id,
                              status="pending", current_seq=1, created_at=now)
    session.add(request)
    session.flush()
    for seq, step in enumerate(steps, start=1):
        session.add(ApprovalStep(
            request_id=request.id, seq=seq, node=step.node, label=step.label,
            candidates="," + ",".join(str(c) for c in step.candidates) + ",",
            status="open" if seq == 1 else "waiting", comment="",
            opened_at=now if seq == 1 else None,
            due_at=now + timedelta(hours=step.time_limit_hours) if seq == 1 else None))
    session.add(ApprovalEvent(request_id=request.id, at=now, actor_id=initiator.person_id,
                              action="submit", node="", comment=""))
    session.flush()
    session.refresh(request)
    return request


def open_step(request: ApprovalRequest) -> ApprovalStep | None:
    return next((s for s in request.steps if s.status == "open"), None)


def open_tasks(session: Session, person_id: int, limit: int = 100) -> list[ApprovalStep]:
    """Steps waiting for *person_id*, earliest deadline first."""
    return list(session.scalars(select(ApprovalStep).where(
        ApprovalStep.status == "open", ApprovalStep.candidates.contains(f",{person_id},"))
        .order_by(ApprovalStep.due_at).limit(limit)))


def _check(request: ApprovalRequest, expected_version: int) -> None:
    if request.version != expected_version:
        raise Conflict(gettext("Somebody acted on this request after you opened it; look at "
                               "it again."))
    if request.status != "pending":
        raise Conflict(gettext("This request is already closed."))


def act(session: Session, request: ApprovalRequest, actor: Principal, action: str, *,
        expected_version: int, comment: str = "", now: datetime | None = None) -> None:
    """Approve or reject the open step; only one of its candidates may."""
    now = now or datetime.now()
    if action not in ("approve", "reject"):
        raise Invalid(gettext("No such action."))
    _check(request, expected_version)
    step = open_step(request)
    if step is None or actor.person_id not in step.candidate_ids():
        raise Forbidden(gettext("It is not your turn to decide on this request."))
    comment = (comment or "").strip()
    if action == "reject" and not comment:
        raise Invalid(gettext("Say why you reject the request."))
    if len(comment) > 2000:
        raise Invalid(gettext("The comment is longer than 2000 characters."))
    step.status, step.decision, step.actor_id = "done", action, actor.person_id
    step.comment, step.decided_at = comment, now
    session.add(ApprovalEvent(request_id=request.id, at=now, actor_id=actor.person_id,
                              action=action, node=step.label, comment=comment))
    following = next((s for s in request.steps if s.seq == step.seq + 1), None)
    if action == "reject":
        request.status, request.finished_at = "rejected", now
    elif following is None:
        request.status, request.finished_at = "approved", now
    else:
        following.status, following.opened_at = "open", now
        limit = _time_limit(request.kind, following.node)
        following.due_at = now + timedelta(hours=limit)
        request.current_seq = following.seq
    session.flush()


def _time_limit(kind: str, node: str) -> float:
    from portlets.approvals.chain import definitions

    for n in definitions()[kind].steps:
        if node == n.id or (n.rule == "chosen" and node.startswith(n.id)):
            return n.time_limit_hours
    return 24.0


def withdraw(session: Session, request: ApprovalRequest, actor: Principal, *,
             expected_version: int, now: datetime | None = None) -> None:
    """The applicant takes the request back, as long as nobody has decided on it yet."""
    now = now or datetime.now()
    if actor.person_id != request.applicant_id:
        raise Forbidden(gettext("Only the applicant may withdraw a request."))
    _check(request, expected_version)
    if any(s.decision for s in request.steps):
        raise Conflict(gettext("An approver has already decided; the request can no longer be "
                               "withdrawn."))
    for s in request.steps:
        s.status = "done" if s.status == "open" else s.status
    request.status, request.finished_at = "withdrawn", now
    session.add(ApprovalEvent(request_id=request.id, at=now, actor_id=actor.person_id,
                              action="withdraw", node="", comment=""))
    session.flush()


def history(request: ApprovalRequest) -> list[ApprovalEvent]:
    return list(request.history)
