"""The approvals' side of the portal workflow engine: start a request's instance (the
applicant's own first step is taken at once), decide, resubmit after a return, withdraw, and
keep ``ApprovalRequest.status`` in step with the instance.

The engine refuses with ``WorkflowError`` (``.status``: 403 out of turn, 409 stale, 422
invalid); nothing here catches it, so the view answers with the engine's status and message.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from portal.toolkit import (
    InvalidAction,
    NotYourTurn,
    Principal,
    StaleVersion,
    WorkflowHistory,
    WorkflowInstance,
    WorkflowTask,
    gettext,
    workflow_act,
    workflow_can_withdraw,
    workflow_history,
    workflow_open_task_for,
    workflow_open_tasks,
    workflow_start,
    workflow_tasks,
    workflow_withdraw,
)
from portlets.approvals.chain import APPLY, definition_id
from portlets.approvals.models import ApprovalRequest

SUBJECT = "approval"
ACTIONS = ("approve", "reject", "refuse", "resubmit", "withdraw")


def _sync(req: ApprovalRequest, inst: WorkflowInstance, now: datetime,
          withdrawn: bool = False) -> None:
    if inst.status == "finished":
        req.status = "refused" if inst.outcome == "refused" else "approved"
        req.finished_at = inst.finished_at or now
    elif inst.current_steps == [APPLY]:
        req.status = "withdrawn" if withdrawn else "returned"
    else:
        req.status = "pending"


def start(session: Session, kind: str, *, initiator: Principal, title: str,
          data: dict[str, Any], now: datetime | None = None) -> ApprovalRequest:
    """Save the request and send it to the first approver."""
    now = now or datetime.now()
    req = ApprovalRequest(kind=kind, title=title, data=data, applicant_id=initiator.person_id,
                          unit_id=initiator.org_unit_id, status="pending", created_at=now)
    session.add(req)
    session.flush()
    inst = workflow_start(session, definition_id(kind), subject_type=SUBJECT,
                          subject_id=req.id, initiator=initiator.person_id,
                          data={"title": title, **data}, now=now)
    req.instance_id = inst.id
    task = workflow_open_task_for(session, inst.id, initiator.person_id)
    assert task is not None and task.step == APPLY
    inst = workflow_act(session, task.id, initiator.person_id, "approve",
                        expected_version=inst.version, now=now)
    _sync(req, inst, now)
    session.flush()
    return req


def instance(session: Session, req: ApprovalRequest) -> WorkflowInstance:
    inst = session.get(WorkflowInstance, req.instance_id)
    assert inst is not None
    return inst


def act(session: Session, req: ApprovalRequest, me: Principal, action: str, *,
        expected_version: int, comment: str = "", now: datetime | None = None) -> None:
    now = now or datetime.now()
    if action not in ACTIONS:
        raise InvalidAction(gettext("No such action."))
    inst = instance(session, req)
    if action == "withdraw":
        inst = workflow_withdraw(session, inst.id, me.person_id,
                                 expected_version=expected_version, now=now)
        _sync(req, inst, now, withdrawn=True)
        return
    if inst.version != expected_version:
        raise StaleVersion(gettext("Somebody acted on this request after you opened it; look "
                                   "at it again."))
    task = workflow_open_task_for(session, inst.id, me.person_id)
    on_apply = task is not None and task.step == APPLY
    if task is None or on_apply != (action == "resubmit"):
        raise NotYourTurn(gettext("It is not your turn to decide on this request."))
    comment = (comment or "").strip()
    if action == "reject" and not comment:
        raise InvalidAction(gettext("Say why you return the request."))
    if action == "refuse" and not comment:
        raise InvalidAction(gettext("Say why you refuse the request."))
    inst = workflow_act(session, task.id, me.person_id,
                        action if action in ("reject", "refuse") else "approve",
                        expected_version=expected_version, comment=comment, now=now)
    _sync(req, inst, now)


def actions_for(session: Session, req: ApprovalRequest, me: Principal) -> list[str]:
    """The buttons *me* gets on the request now."""
    inst = instance(session, req)
    out = []
    task = workflow_open_task_for(session, inst.id, me.person_id)
    if task is not None:
        out += ["resubmit"] if task.step == APPLY else ["approve", "reject", "refuse"]
    if workflow_can_withdraw(session, inst, me.person_id):
        out.append("withdraw")
    return out


def tasks(session: Session, req: ApprovalRequest) -> list[WorkflowTask]:
    return workflow_tasks(session, instance(session, req).id)


def history(session: Session, req: ApprovalRequest) -> list[WorkflowHistory]:
    return workflow_history(session, instance(session, req).id)


def open_tasks(session: Session, person_id: int) -> list[WorkflowTask]:
    return workflow_open_tasks(session, person_id)
