"""The approval pages, mounted at ``/approvals/``: lists (waiting for me, my requests, decided
by me), the three forms, and a request with its chain, history and the actions the person may
take. Actions carry the request's version: an old form is a 409, never a silent decision."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from portal.toolkit import Person, Principal, current_principal, db_session, gettext, login_required
from portlets.approvals import engine, forms, service
from portlets.approvals.chain import definitions
from portlets.approvals.errors import ApprovalError, Invalid, NotFound
from portlets.approvals.models import ApprovalRequest

bp = Blueprint("approvals", __name__, url_prefix="/approvals", template_folder="templates")
BOXES = ("waiting", "mine", "decided")
KINDS = ("leave", "purchase", "generic")


def _me() -> Principal:
    principal = current_principal()
    assert principal is not None
    return principal


def kind_label(kind: str) -> str:
    return {"leave": gettext("Leave"), "purchase": gettext("Purchase"),
            "generic": gettext("General request")}.get(kind, kind)


def status_label(status: str) -> str:
    return {"pending": gettext("In approval"), "approved": gettext("Approved"),
            "rejected": gettext("Rejected"), "withdrawn": gettext("Withdrawn")}.get(status,
                                                                                   status)


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
                           names=_names(), now=datetime.now())


def _people() -> list[tuple[int, str]]:
    me = _me()
    return [(pid, name) for pid, name in db_session().execute(
        select(Person.id, Person.display_name).where(Person.active.is_(True))
        .order_by(Person.username)).all() if pid != me.person_id]


def _form_page(kind: str, form: Any, error: str = "", status: int = 200) -> Any:
    return render_template("approvals/new.html", kind=kind, form=form, error=error,
                           leave_types=forms.LEAVE_TYPES, people=_people(),
                           chain=definitions()[kind], max_approvers=forms.MAX_APPROVERS), status


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
        req = engine.start(s, kind, initiator=_me(), title=parsed.title, data=parsed.data,
                           chosen=parsed.chosen)
        s.commit()
    except ApprovalError as exc:
        s.rollback()
        return _form_page(kind, f, exc.message, exc.status)
    flash(gettext("Request submitted."), "info")
    return redirect(url_for("approvals.show", request_id=req.id))


def _show(req: ApprovalRequest, error: str = "", status: int = 200) -> Any:
    me = _me()
    step = engine.open_step(req) if req.status == "pending" else None
    actions = []
    if step is not None and me.person_id in step.candidate_ids():
        actions += ["approve", "reject"]
    if req.status == "pending" and req.applicant_id == me.person_id and \
            not any(s.decision for s in req.steps):
        actions.append("withdraw")
    return render_template("approvals/request.html", req=req, actions=actions, error=error,
                           names=_names(), history=engine.history(req), now=datetime.now(),
                           leave_types=dict(forms.LEAVE_TYPES)), status


@bp.route("/<int:request_id>")
@login_required
def show(request_id: int) -> Any:
    return _show(service.load(db_session(), _me(), request_id))


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
        if action == "withdraw":
            engine.withdraw(s, req, me, expected_version=int(raw))
        else:
            engine.act(s, req, me, action, expected_version=int(raw),
                       comment=request.form.get("comment", ""))
        s.commit()
    except StaleDataError:
        s.rollback()
        s.expire_all()
        return _show(service.load(s, me, request_id),
                     gettext("Somebody acted on this request after you opened it; look at it "
                             "again."), 409)
    except ApprovalError as exc:
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
    if request.accept_mimetypes.best == "application/json":
        return {"error": exc.message, "status": exc.status}, exc.status
    return render_template("errors/error.html", code=exc.status, message=exc.message), \
        exc.status
