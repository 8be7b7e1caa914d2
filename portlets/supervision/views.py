"""The supervision pages, mounted at ``/supervision/``: the list (overdue in red), a new task
(leaders), a task with its feedback trail and the actions the person may take."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from portal.toolkit import (
    OrgUnit,
    Person,
    Principal,
    current_principal,
    db_session,
    error_page,
    gettext,
    login_required,
)
from portlets.supervision import service
from portlets.supervision.errors import Forbidden, Invalid, NotFound, SupervisionError
from portlets.supervision.models import Task

bp = Blueprint("supervision", __name__, url_prefix="/supervision",
               template_folder="templates")
ACTIONS = ("progress", "finish", "accept", "return")


def _me() -> Principal:
    principal = current_principal()
    assert principal is not None
    return principal


@bp.app_template_filter("supervision_status")
def _status_filter(status: str) -> str:
    return {"open": gettext("In progress"), "done": gettext("Reported done"),
            "accepted": gettext("Accepted")}.get(status, status)


def _names() -> tuple[dict[int, str], dict[int, str]]:
    s = db_session()
    people = dict(s.execute(select(Person.id, Person.display_name)).all())  # type: ignore[arg-type]
    units = dict(s.execute(select(OrgUnit.id, OrgUnit.name)).all())  # type: ignore[arg-type]
    return people, units


def assignee_label(task: Task, people: dict[int, str], units: dict[int, str]) -> str:
    if task.assignee_person_id:
        return people.get(task.assignee_person_id, "")
    return units.get(task.assignee_unit_id or 0, "")


@bp.route("/")
@login_required
def index() -> Any:
    me = _me()
    people, units = _names()
    return render_template("supervision/list.html", tasks=service.tasks_for(db_session(), me),
                           now=datetime.now(), people=people, units=units,
                           label=assignee_label, may_create=service.is_leader(me))


def _assignee_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    s = db_session()
    by_unit: dict[int | None, list[tuple[int, str]]] = {}
    for pid, name, unit in s.execute(select(Person.id, Person.display_name, Person.org_unit_id)
                                     .where(Person.active.is_(True))
                                     .order_by(Person.username)):
        by_unit.setdefault(unit, []).append((pid, name))
    groups = []
    for uid, name, path in s.execute(select(OrgUnit.id, OrgUnit.name, OrgUnit.path)
                                     .order_by(OrgUnit.path)):
        options = [(f"unit:{uid}", gettext("%(unit)s (whole unit)", unit=name))]
        options += [(f"person:{pid}", pname) for pid, pname in by_unit.get(uid, [])]
        groups.append(("　" * max(path.count("/") - 2, 0) + name, options))
    return groups


def _new_page(form: dict[str, str], error: str = "", status: int = 200) -> Any:
    return render_template("supervision/new.html", form=form, error=error,
                           choices=_assignee_choices()), status


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    me = _me()
    if not service.is_leader(me):
        raise Forbidden(gettext("Only leaders assign supervision tasks."))
    if request.method == "GET":
        return _new_page({})
    f = request.form
    form = {k: f.get(k, "") for k in ("title", "body", "assignee", "deadline")}
    s = db_session()
    try:
        try:
            deadline = datetime.fromisoformat(form["deadline"].strip())
        except ValueError:
            raise Invalid(gettext("The deadline is not a date and time (YYYY-MM-DD HH:MM)."))\
                from None
        task = service.create(s, me, form["title"], form["body"], form["assignee"], deadline)
        s.commit()
    except SupervisionError as exc:
        s.rollback()
        if isinstance(exc, Forbidden | NotFound):
            raise
        return _new_page(form, exc.message, exc.status)
    flash(gettext("Supervision task assigned."), "info")
    return redirect(url_for("supervision.show", task_id=task.id))


def _show(task: Task, error: str = "", status: int = 200) -> Any:
    me = _me()
    roles = service.roles(me, task)
    actions = []
    if service.Role.ASSIGNEE in roles and task.status == "open":
        actions += ["progress", "finish"]
    if service.Role.LEADER in roles and task.status == "done":
        actions += ["accept", "return"]
    people, units = _names()
    return render_template("supervision/task.html", task=task, actions=actions, error=error,
                           now=datetime.now(), people=people, units=units,
                           assignee=assignee_label(task, people, units)), status


@bp.route("/<int:task_id>")
@login_required
def show(task_id: int) -> Any:
    return _show(service.load(db_session(), _me(), task_id))


@bp.route("/<int:task_id>/<action>", methods=["POST"])
@login_required
def act(task_id: int, action: str) -> Any:
    if action not in ACTIONS:
        raise NotFound(gettext("No such action."))
    s = db_session()
    me = _me()
    f = request.form
    try:
        task = service.load(s, me, task_id, f.get("version", ""))
        body = f.get("body", "")
        if action == "progress":
            service.report_progress(s, me, task, body, f.get("percent", ""))
        elif action == "finish":
            service.finish(s, me, task, body)
        elif action == "accept":
            service.accept(s, me, task, body)
        else:
            service.return_(s, me, task, body)
        s.commit()
    except StaleDataError:
        s.rollback()
        s.expire_all()
        return _show(service.load(s, me, task_id),
                     gettext("Somebody acted on this task after you opened it; look at it "
                             "again."), 409)
    except SupervisionError as exc:
        s.rollback()
        s.expire_all()
        if isinstance(exc, NotFound):
            raise
        return _show(service.load(s, me, task_id), exc.message, exc.status)
    flash(gettext("Saved."), "info")
    return redirect(url_for("supervision.show", task_id=task_id))


@bp.errorhandler(SupervisionError)
def _supervision_error(exc: SupervisionError) -> Any:
    db_session().rollback()
    return error_page(exc.status, exc.message)
