"""The approval pages, mounted at ``/approvals/``: lists (waiting for me, my requests, decided
by me), the three forms, and a request with its chain, history and the actions the person may
take. Actions carry the request's version: an old form is a 409, never a silent decision."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from portal.toolkit import (
    Person,
    Principal,
    WorkflowError,
    current_principal,
    db_session,
    error_page,
    gettext,
    login_required,
)
from portlets.approvals import engine, forms, service
from portlets.approvals.chain import KINDS, chains, step_names
from portlets.approvals.errors import ApprovalError, Invalid, NotFound
from portlets.approvals.models import ApprovalRequest

bp = Blueprint("approvals", __name__, url_prefix="/approvals", template_folder="templates")
BOXES = ("waiting", "mine", "decided")


def _me() -> Principal:
    principal = current_principal()
    assert principal is not None
    return principal


def kind_label(kind: str) -> str:
    return {"leave": gettext("Leave"), "purchase": gettext("Purchase"),
            "generic": gettext("General request")}.get(kind, kind)


def status_label(status: str) -> str:
    return {"pending": gettext("In approval"), "approved": gettext("Approved"),
            "refused": gettext("Refused"),
            "returned": gettext("Returned to me"), "withdrawn": gettext("Withdrawn")}.get(
        status, status)


bp.add_app_template_filter(kind_label, "approval_kind")
bp.add_app_template_filter(status_label, "approval_status")


def _names() -> dict[int, str]:
    return dict(db_session().execute(select(Person.id, Person.display_name)).all())  # type: ignore[arg-type]


@bp.route("/")
@login_required
def index() -> Any:
    box = request.args.get("box", "waiting")
    if box not in BOXES:
        abort(400, gettext("Unknown folder."))
    s = db_session()
    me = _me()
    waiting = service.waiting(s, me) if box == "waiting" else []
    rows = service.mine(s, me) if box == "mine" else \
        service.decided_by_me(s, me) if box == "decided" else []
    return render_template("approvals/list.html", box=box, waiting=waiting, rows=rows,
                           names=_names(), now=datetime.now(), steps=step_names)


def _people() -> list[tuple[int, str]]:
    me = _me()
    return [(pid, name) for pid, name in db_session().execute(
        select(Person.id, Person.display_name).where(Person.active.is_(True))
        .order_by(Person.username)).all() if pid != me.person_id]


def _form_page(kind: str, form: Any, error: str = "", status: int = 200) -> Any:
    return render_template("approvals/new.html", kind=kind, form=form, error=error,
                           leave_types=forms.LEAVE_TYPES, people=_people(),
                           chain=chains()[kind], max_approvers=forms.MAX_APPROVERS), status


@bp.route("/new/<kind>", methods=["GET", "POST"])
@login_required
def new(kind: str) -> Any:
    if kind not in KINDS:
        raise NotFound(gettext("No such form."))
    if request.method == "GET":
        return _form_page(kind, {})
    s = db_session()
    f = request.form
    try:
        if kind == "leave":
            parsed = forms.leave(f)
        elif kind == "purchase":
            parsed = forms.purchase(f)
        else:
            parsed = forms.generic(f, {pid for pid, _n in _people()})
        req = engine.start(s, kind, initiator=_me(), title=parsed.title, data=parsed.data)
        s.commit()
    except (ApprovalError, WorkflowError) as exc:
        s.rollback()
        return _form_page(kind, f, exc.message, exc.status)
    flash(gettext("Request submitted."), "info")
    return redirect(url_for("approvals.show", request_id=req.id))


def _show(req: ApprovalRequest, error: str = "", status: int = 200) -> Any:
    s = db_session()
    me = _me()
    inst = engine.instance(s, req)
    by_step: dict[str, list[Any]] = {}
    for task in engine.tasks(s, req):
        by_step.setdefault(task.step, []).append(task)
    return render_template("approvals/request.html", req=req, inst=inst, error=error,
                           actions=engine.actions_for(s, req, me), chain=chains()[req.kind],
                           by_step=by_step, steps=step_names(req.kind), names=_names(),
                           history=engine.history(s, req), now=datetime.now(),
                           leave_types=dict(forms.LEAVE_TYPES)), status


@bp.route("/<int:request_id>")
@login_required
def show(request_id: int) -> Any:
    return _show(service.load(db_session(), _me(), request_id))


@bp.route("/by-instance/<int:instance_id>")
@login_required
def by_instance(instance_id: int) -> Any:
    """Where the engine's notices point: the request of a workflow instance."""
    req = service.by_instance(db_session(), _me(), instance_id)
    return redirect(url_for("approvals.show", request_id=req.id))


@bp.route("/<int:request_id>/<action>", methods=["POST"])
@login_required
def act(request_id: int, action: str) -> Any:
    if action not in engine.ACTIONS:
        raise NotFound(gettext("No such action."))
    s = db_session()
    me = _me()
    raw = request.form.get("version", "")
    try:
        req = service.load(s, me, request_id)
        if not raw.isdigit():
            raise Invalid(gettext("The form is incomplete; open the request again."))
        engine.act(s, req, me, action, expected_version=int(raw),
                   comment=request.form.get("comment", ""))
        s.commit()
    except StaleDataError:
        s.rollback()
        s.expire_all()
        return _show(service.load(s, me, request_id),
                     gettext("Somebody acted on this request after you opened it; look at it "
                             "again."), 409)
    except (ApprovalError, WorkflowError) as exc:
        s.rollback()
        s.expire_all()
        if isinstance(exc, NotFound):
            raise
        return _show(service.load(s, me, request_id), exc.message, exc.status)
    flash(gettext("Done."), "info")
    return redirect(url_for("approvals.show", request_id=request_id))


@bp.errorhandler(ApprovalError)
def _approval_error(exc: ApprovalError) -> Any:
    db_session().rollback()
    return error_page(exc.status, exc.message)
