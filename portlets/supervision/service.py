"""Supervision, the rules: leaders assign and accept, assignees report progress and finish.

Each function works in the caller's transaction and never commits; a refused action leaves
nothing behind. Acting out of turn is a 403, acting on a task that moved on (or on an old
form) a 409, a task one may not see a 404.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from portal.toolkit import OrgUnit, Person, Principal, gettext
from portlets.supervision.errors import Conflict, Forbidden, Invalid, NotFound
from portlets.supervision.models import Feedback, Task


class Role(enum.StrEnum):
    LEADER = "leader"  # who assigned it
    ASSIGNEE = "assignee"  # the person, or a member of the unit
    ADMIN = "admin"


def is_leader(me: Principal) -> bool:
    return "leader" in me.posts or me.is_admin


def visible(me: Principal) -> ColumnElement[bool]:
    """Filter on ``Task``: assigned by me, to me, or to my unit (admins see everything)."""
    conditions = [Task.leader_id == me.person_id, Task.assignee_person_id == me.person_id]
    if me.org_unit_id is not None:
        conditions.append(Task.assignee_unit_id == me.org_unit_id)
    if me.is_admin:
        conditions.append(Task.id.is_not(None))
    return or_(*conditions)


def roles(me: Principal, task: Task) -> set[Role]:
    out: set[Role] = set()
    if task.leader_id == me.person_id:
        out.add(Role.LEADER)
    if task.assignee_person_id == me.person_id or (
            task.assignee_person_id is None and task.assignee_unit_id is not None
            and task.assignee_unit_id == me.org_unit_id):
        out.add(Role.ASSIGNEE)
    if me.is_admin:
        out.add(Role.ADMIN)
    return out


def load(session: Session, me: Principal, task_id: int, version: str | None = None) -> Task:
    task = session.get(Task, task_id)
    if task is None or not roles(me, task):
        raise NotFound(gettext("No such supervision task."))
    if version is not None and str(task.version) != version.strip():
        raise Conflict(gettext("Somebody acted on this task after you opened it; look at it "
                               "again."))
    return task


def parse_assignee(session: Session, raw: str) -> tuple[int | None, int | None]:
    """``person:<id>`` or ``unit:<id>`` → (person id, unit id)."""
    kind, _, ident = (raw or "").partition(":")
    if not ident.isdigit():
        raise Invalid(gettext("Choose a person or a unit to carry out the task."))
    if kind == "person" and session.get(Person, int(ident)) is not None:
        return int(ident), None
    if kind == "unit" and session.get(OrgUnit, int(ident)) is not None:
        return None, int(ident)
    raise Invalid(gettext("Choose a person or a unit to carry out the task."))


def _text(value: str, label: str, limit: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise Invalid(gettext("%(field)s is required.", field=label))
    if len(value) > limit:
        raise Invalid(gettext("%(field)s is longer than %(n)d characters.", field=label,
                              n=limit))
    return value


def _trail(session: Session, task: Task, me: Principal, kind: str, body: str, now: datetime,
           percent: int | None = None) -> None:
    session.add(Feedback(task_id=task.id, author_id=me.person_id, kind=kind, body=body,
                         percent=percent, at=now))


def create(session: Session, me: Principal, title: str, body: str, assignee: str,
           deadline: datetime, now: datetime | None = None) -> Task:
    now = now or datetime.now()
    if not is_leader(me):
        raise Forbidden(gettext("Only leaders assign supervision tasks."))
    title = _text(title, gettext("Title"), 200)
    body = _text(body, gettext("Requirements"), 5000, required=False)
    person_id, unit_id = parse_assignee(session, assignee)
    if deadline <= now:
        raise Invalid(gettext("The deadline (%(when)s) must be in the future.",
                              when=deadline.strftime("%Y-%m-%d %H:%M")))
    task = Task(title=title, body=body, leader_id=me.person_id, assignee_person_id=person_id,
                assignee_unit_id=unit_id, deadline=deadline, status="open", created_at=now)
    session.add(task)
    session.flush()
    return task


def report_progress(session: Session, me: Principal, task: Task, body: str, percent: str,
                    now: datetime | None = None) -> None:
    if Role.ASSIGNEE not in roles(me, task):
        raise Forbidden(gettext("Only the people the task was given to report on it."))
    if task.status != "open":
        raise Conflict(gettext("This supervision task is no longer open."))
    pct = None
    if percent.strip():
        if not percent.strip().isdigit() or not 0 <= int(percent) <= 100:
            raise Invalid(gettext("Progress must be a whole number from 0 to 100."))
        pct = int(percent)
    _trail(session, task, me, "progress", _text(body, gettext("Progress"), 2000),
           now or datetime.now(), pct)
    session.flush()


def finish(session: Session, me: Principal, task: Task, body: str,
           now: datetime | None = None) -> None:
    now = now or datetime.now()
    if Role.ASSIGNEE not in roles(me, task):
        raise Forbidden(gettext("Only the people the task was given to report it done."))
    if task.status != "open":
        raise Conflict(gettext("This supervision task is no longer open."))
    _trail(session, task, me, "done", _text(body, gettext("Result"), 2000), now, 100)
    task.status = "done"
    task.done_at = now


def accept(session: Session, me: Principal, task: Task, body: str = "",
           now: datetime | None = None) -> None:
    now = now or datetime.now()
    if Role.LEADER not in roles(me, task):
        raise Forbidden(gettext("Only the leader who assigned the task accepts it."))
    if task.status != "done":
        raise Conflict(gettext("Only a task reported done can be accepted."))
    _trail(session, task, me, "accept", _text(body, gettext("Comment"), 2000, required=False),
           now)
    task.status = "accepted"
    task.closed_at = now


def return_(session: Session, me: Principal, task: Task, body: str,
            now: datetime | None = None) -> None:
    now = now or datetime.now()
    if Role.LEADER not in roles(me, task):
        raise Forbidden(gettext("Only the leader who assigned the task returns it."))
    if task.status != "done":
        raise Conflict(gettext("Only a task reported done can be returned."))
    _trail(session, task, me, "return", _text(body, gettext("Reason"), 2000), now)
    task.status = "open"
    task.done_at = None


def tasks_for(session: Session, me: Principal, *, open_only: bool = False,
              limit: int = 200) -> list[Task]:
    """Tasks I gave or was given; open ones by deadline first, then the closed ones."""
    query = select(Task).where(visible(me))
    if open_only:
        query = query.where(Task.status.in_(("open", "done")))
    rows = list(session.scalars(query.order_by(Task.deadline).limit(limit)))
    rows.sort(key=lambda t: (t.status == "accepted", t.deadline))
    return rows


def waiting_on(session: Session, me: Principal, limit: int = 100) -> list[Task]:
    """What needs *me*: open tasks given to me or my unit; done tasks I must accept."""
    mine = [Task.assignee_person_id == me.person_id]
    if me.org_unit_id is not None:
        mine.append(Task.assignee_unit_id == me.org_unit_id)
    return list(session.scalars(select(Task).where(or_(
        (Task.status == "open") & or_(*mine),
        (Task.status == "done") & (Task.leader_id == me.person_id)))
        .order_by(Task.deadline).limit(limit)))
