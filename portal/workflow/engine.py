"""Running workflow instances: start, act (approve / reject), withdraw, open tasks, history.

Every change happens in the caller's session and is committed by the caller, together with the
plugin's own change (the document, the leave request) and the domain event the engine emits: a
refusal raises before anything is written, so a failed act leaves nothing half-saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, has_app_context
from flask_babel import gettext
from sqlalchemy import case, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from portal.events import emit
from portal.notify import Notification, notify
from portal.workflow.assign import resolve
from portal.workflow.definition import END, Definition, Step
from portal.workflow.errors import (
    InvalidAction,
    NotYourTurn,
    StaleVersion,
    UnknownInstance,
    WorkflowError,
)
from portal.workflow.models import (
    CLOSED,
    DONE,
    FINISHED,
    OPEN,
    RUNNING,
    WorkflowHistory,
    WorkflowInstance,
    WorkflowTask,
)

EVENT_TYPE = "workflow.transition"
APPROVE, REJECT, REFUSE = "approve", "reject", "refuse"
ACTIONS = (APPROVE, REJECT, REFUSE)
MAX_COMMENT = 2_000


def definitions() -> dict[str, Definition]:
    """Every definition the plugins contributed, by id (read at start-up)."""
    workflows: dict[str, Definition] = current_app.extensions["portal"].workflows
    return workflows


def definition(definition_id: str) -> Definition:
    found = definitions().get(definition_id)
    if found is None:
        raise InvalidAction(gettext("There is no workflow named %(id)s.", id=definition_id))
    return found


@dataclass(frozen=True)
class _Plan:
    """Where an instance goes: a step and the groups of people to assign, or the end."""

    step: str
    groups: list[tuple[str, list[int]]]


def _plan(db: Session, d: Definition, step_id: str, initiator: int,
          data: dict[str, Any]) -> _Plan:
    if step_id == END:
        return _Plan(END, [])
    step = d.step(step_id)
    groups = [(key, people) for key, people in resolve(db, step.assignee, initiator=initiator,
                                                       data=data) if people]
    if not groups:
        raise InvalidAction(gettext("Nobody can be assigned to the step “%(step)s”; check the "
                                    "people and posts it needs.", step=step.name))
    return _Plan(step_id, groups)


def _enter(db: Session, d: Definition, inst: WorkflowInstance, plan: _Plan,
           now: datetime) -> list[int]:
    """Open the tasks of *plan* (or finish the instance); returns the new assignees."""
    if plan.step == END:
        inst.status, inst.finished_at, inst.outcome = FINISHED, now, "completed"
        inst.current_steps = []
        return []
    step = d.step(plan.step)
    inst.round = (inst.round or 0) + 1
    inst.current_steps = [plan.step]
    due = now + step.time_limit if step.time_limit else None
    people: list[int] = []
    for key, members in plan.groups:
        for person in members:
            db.add(WorkflowTask(instance_id=inst.id, step=plan.step, round=inst.round,
                                group_key=key, assignee_id=person, status=OPEN,
                                created_at=now, due_at=due, comment=""))
            people.append(person)
    return list(dict.fromkeys(people))


def _log(db: Session, inst: WorkflowInstance, *, actor: int | None, step: str, action: str,
         before: list[str], comment: str, now: datetime) -> None:
    db.add(WorkflowHistory(instance_id=inst.id, at=now, actor_id=actor, step=step,
                           action=action, from_steps=before, to_steps=list(inst.current_steps),
                           comment=comment))


def _announce(db: Session, d: Definition, inst: WorkflowInstance, *, actor: int | None,
              step: str, action: str, before: list[str], assignees: list[int]) -> None:
    """The domain event of every transition, and a notice to whoever has to act next."""
    emit(db, EVENT_TYPE, instance_id=inst.id, definition_id=d.id,
         subject_type=inst.subject_type, subject_id=inst.subject_id, action=action, step=step,
         actor_id=actor, from_steps=before, to_steps=list(inst.current_steps),
         assignees=assignees, finished=inst.status == FINISHED, outcome=inst.outcome)
    # Nobody is told of a task they gave themselves (a draft they started, a withdrawal).
    told = tuple(a for a in assignees if a != actor)
    if not told or not d.link or not has_app_context():
        return
    if "portal" not in current_app.extensions["portal"].notification_channels:
        return
    title = str(inst.data.get("title") or "")[:120]
    step_name = d.step(inst.current_steps[0]).name if inst.current_steps else ""
    notify(db, Notification(
        kind="workflow.assigned",
        title=f"【{d.title}·{step_name}】{title}"[:200] or d.title,
        recipients=told,
        link=d.link.format(subject_id=inst.subject_id, instance_id=inst.id)))


def start(db: Session, definition_id: str, *, subject_type: str, subject_id: int,
          initiator: int, data: dict[str, Any] | None = None,
          now: datetime | None = None) -> WorkflowInstance:
    """Start an instance; its first step's tasks are open when this returns (flushed)."""
    d = definition(definition_id)
    now = now or datetime.now()
    data = dict(data or {})
    plan = _plan(db, d, d.first, initiator, data)
    inst = WorkflowInstance(definition_id=d.id, subject_type=subject_type,
                            subject_id=subject_id, status=RUNNING, current_steps=[], round=0,
                            data=data, started_by=initiator, started_at=now)
    db.add(inst)
    db.flush()
    assignees = _enter(db, d, inst, plan, now)
    _log(db, inst, actor=initiator, step=d.first, action="start", before=[], comment="",
         now=now)
    _announce(db, d, inst, actor=initiator, step=d.first, action="start", before=[],
              assignees=assignees)
    db.flush()
    return inst


def _instance(db: Session, instance_id: int) -> WorkflowInstance:
    inst = db.get(WorkflowInstance, instance_id)
    if inst is None:
        raise UnknownInstance(gettext("No such workflow instance."))
    return inst


def _check_version(inst: WorkflowInstance, expected_version: int) -> None:
    if inst.version != expected_version:
        raise StaleVersion(gettext("Somebody acted on this in the meantime; reload the page "
                                   "and look again."))


def return_target(d: Definition, step: Step) -> str | None:
    """Where a rejection on *step* goes: its ``return_to``, else the step before it."""
    if step.return_to:
        return step.return_to
    index = d.order.index(step.id)
    return d.order[index - 1] if index > 0 else None


def act(db: Session, task_id: int, actor: int, action: str, *, expected_version: int,
        comment: str = "", data: dict[str, Any] | None = None,
        now: datetime | None = None) -> WorkflowInstance:
    """*actor* approves or rejects their open task *task_id*.

    ``approve`` closes the task (and the other alternatives of its group); when the step is
    complete (every countersign group acted) the instance moves to the next step whose
    condition holds over the data (merged with *data* first). ``reject`` closes every open
    task and returns the instance to the step's ``return_to`` (a countersign: any one
    rejection returns). ``refuse`` (不同意), on a step whose definition says ``refuse: true``,
    closes every open task and ends the instance with the outcome ``refused``. Raises
    ``NotYourTurn`` (403), ``StaleVersion`` (409), ``InvalidAction`` (422).
    """
    now = now or datetime.now()
    task = db.get(WorkflowTask, task_id)
    if task is None:
        raise UnknownInstance(gettext("No such task."))
    inst = _instance(db, task.instance_id)
    if task.assignee_id != actor:
        raise NotYourTurn(gettext("This task is not yours."))
    _check_version(inst, expected_version)
    if task.status != OPEN or inst.status != RUNNING:
        raise NotYourTurn(gettext("This task is no longer open."))
    if action not in ACTIONS:
        raise InvalidAction(gettext("Unknown action %(action)s.", action=action[:20]))
    if len(comment) > MAX_COMMENT:
        raise InvalidAction(gettext("The comment is too long (at most %(n)d characters).",
                                    n=MAX_COMMENT))
    d = definition(inst.definition_id)
    step = d.step(task.step)
    merged = {**inst.data, **(data or {})}
    siblings = list(db.scalars(select(WorkflowTask).where(
        WorkflowTask.instance_id == inst.id, WorkflowTask.status == OPEN)))
    plan: _Plan | None = None
    if action == REFUSE and not step.refusable:
        raise InvalidAction(gettext("The step “%(step)s” cannot refuse; return it instead.",
                                    step=step.name))
    if action == REFUSE:
        closing = siblings
    elif action == REJECT:
        target = return_target(d, step)
        if target is None:
            raise InvalidAction(gettext("The first step cannot be returned."))
        plan = _plan(db, d, target, inst.started_by, merged)
        closing = siblings
    else:
        closing = [t for t in siblings if t.step == task.step and t.round == task.round
                   and t.group_key == task.group_key]
        groups_left = {t.group_key for t in siblings if t.step == task.step
                       and t.round == task.round and t.group_key != task.group_key}
        if not step.countersign or not groups_left:
            plan = _plan(db, d, d.next_step(step.id, merged), inst.started_by, merged)
    # Checked and planned: from here on nothing can refuse.
    before = list(inst.current_steps)
    task.status, task.acted_at, task.acted_by = DONE, now, actor
    task.action, task.comment = action, comment
    for other in closing:
        if other.id != task.id:
            other.status = CLOSED
    inst.data = merged
    flag_modified(inst, "data")  # a countersign vote changes no column but must bump version
    assignees: list[int] = []
    if plan is not None:
        assignees = _enter(db, d, inst, plan, now)
        inst.last_actor_id, inst.last_step = actor, step.id
    elif action == REFUSE:
        inst.status, inst.finished_at, inst.outcome = FINISHED, now, "refused"
        inst.current_steps = []
        inst.last_actor_id, inst.last_step = actor, step.id
    _log(db, inst, actor=actor, step=step.id, action=action, before=before, comment=comment,
         now=now)
    _announce(db, d, inst, actor=actor, step=step.id, action=action, before=before,
              assignees=assignees)
    _flush(db)
    return inst


def withdraw(db: Session, instance_id: int, actor: int, *, expected_version: int,
             comment: str = "", now: datetime | None = None) -> WorkflowInstance:
    """The initiator takes back what they sent while nobody at the next step has acted: the
    open tasks close and the step the initiator left opens again, for the initiator."""
    now = now or datetime.now()
    inst = _instance(db, instance_id)
    if inst.started_by != actor:
        raise NotYourTurn(gettext("Only the person who started it can withdraw it."))
    _check_version(inst, expected_version)
    if inst.status != RUNNING or inst.last_actor_id != actor or not inst.last_step:
        raise InvalidAction(gettext("There is nothing of yours to withdraw here."))
    acted = db.scalar(select(WorkflowTask.id).where(
        WorkflowTask.instance_id == inst.id, WorkflowTask.round == inst.round,
        WorkflowTask.status == DONE).limit(1))
    if acted is not None:
        raise InvalidAction(gettext("The next step has already acted; it can no longer be "
                                    "withdrawn."))
    d = definition(inst.definition_id)
    before = list(inst.current_steps)
    for t in db.scalars(select(WorkflowTask).where(WorkflowTask.instance_id == inst.id,
                                                   WorkflowTask.status == OPEN)):
        t.status = CLOSED
    back = inst.last_step
    assignees = _enter(db, d, inst, _Plan(back, [("", [actor])]), now)
    inst.last_actor_id, inst.last_step = None, None
    _log(db, inst, actor=actor, step=back, action="withdraw", before=before, comment=comment,
         now=now)
    _announce(db, d, inst, actor=actor, step=back, action="withdraw", before=before,
              assignees=assignees)
    _flush(db)
    return inst


def _flush(db: Session) -> None:
    from sqlalchemy.orm.exc import StaleDataError

    try:
        db.flush()
    except StaleDataError:
        raise StaleVersion(gettext("Somebody acted on this in the meantime; reload the page "
                                   "and look again.")) from None


def open_tasks(db: Session, person_id: int) -> list[WorkflowTask]:
    """*person_id*'s open tasks, the ones with the nearest due date first (no due date last)."""
    return list(db.scalars(select(WorkflowTask).where(
        WorkflowTask.assignee_id == person_id, WorkflowTask.status == OPEN)
        .order_by(case((WorkflowTask.due_at.is_(None), 1), else_=0), WorkflowTask.due_at,
                  WorkflowTask.id)))


def open_task_for(db: Session, instance_id: int, person_id: int) -> WorkflowTask | None:
    """The open task *person_id* holds on the instance, if any (what a page's buttons need)."""
    return db.scalars(select(WorkflowTask).where(
        WorkflowTask.instance_id == instance_id, WorkflowTask.assignee_id == person_id,
        WorkflowTask.status == OPEN).order_by(WorkflowTask.id)).first()


def tasks(db: Session, instance_id: int) -> list[WorkflowTask]:
    return list(db.scalars(select(WorkflowTask).where(WorkflowTask.instance_id == instance_id)
                           .order_by(WorkflowTask.id)))


def history(db: Session, instance_id: int) -> list[WorkflowHistory]:
    _instance(db, instance_id)
    return list(db.scalars(select(WorkflowHistory).where(
        WorkflowHistory.instance_id == instance_id).order_by(WorkflowHistory.id)))


def instance_for(db: Session, subject_type: str, subject_id: int) -> WorkflowInstance | None:
    """The latest instance started for a subject."""
    return db.scalars(select(WorkflowInstance).where(
        WorkflowInstance.subject_type == subject_type,
        WorkflowInstance.subject_id == subject_id).order_by(WorkflowInstance.id.desc())).first()


def can_withdraw(db: Session, inst: WorkflowInstance, person_id: int) -> bool:
    """Whether ``withdraw`` would accept *person_id* now (to show the button or not)."""
    if inst.status != RUNNING or inst.started_by != person_id or \
            inst.last_actor_id != person_id:
        return False
    return db.scalar(select(WorkflowTask.id).where(
        WorkflowTask.instance_id == inst.id, WorkflowTask.round == inst.round,
        WorkflowTask.status == DONE).limit(1)) is None


__all__ = ["ACTIONS", "APPROVE", "EVENT_TYPE", "REFUSE", "REJECT", "WorkflowError", "act",
           "can_withdraw", "definition", "definitions", "history", "instance_for",
           "open_task_for", "open_tasks", "return_target", "start", "tasks", "withdraw"]
