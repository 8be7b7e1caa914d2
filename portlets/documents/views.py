"""The documents pages, mounted at ``/documents/``: my tasks, outgoing and incoming lists,
drafting, a document with its flow and the actions its reader may take, the incoming record
of a unit with its reading list, and signature verification.

Every action form carries the workflow instance's ``version``: a page rendered before
somebody else acted answers 409 instead of acting on a state its author never saw.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from portal.toolkit import (
    OrgUnit,
    Person,
    Principal,
    SignatureInvalid,
    SigningError,
    WorkflowError,
    WorkflowInstance,
    current_principal,
    db_session,
    error_page,
    gettext,
    login_required,
    verify_signature,
    workflow_can_withdraw,
    workflow_history,
    workflow_open_task_for,
    workflow_tasks,
)
from portlets.documents import lists, numbering, sealing, service
from portlets.documents.access import can_see_document, can_see_incoming
from portlets.documents.errors import DocumentError, Forbidden, NotFound
from portlets.documents.models import Document, Incoming, Reading

bp = Blueprint("documents", __name__, url_prefix="/documents", template_folder="templates")
TABS = ("todo", "outgoing", "incoming")
MAX_UPLOAD = 5 * 1024 * 1024

ERRORS = (WorkflowError, DocumentError, SigningError, SignatureInvalid)


def _me() -> Principal:
    principal = current_principal()
    assert principal is not None
    return principal


@bp.app_template_filter("doc_step")
def _step_filter(step: str, definition_id: str = service.OUTGOING) -> str:
    if step == "archived":
        return gettext("Archived")
    if step == service.FINISHED:
        return gettext("Closed")
    return lists.step_name(definition_id, step)


def _units() -> list[OrgUnit]:
    return list(db_session().query(OrgUnit).order_by(OrgUnit.path))


def _names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db_session().query(Person.id, Person.display_name)
                .filter(Person.id.in_(ids)).all())  # type: ignore[arg-type]


def _version() -> int:
    raw = request.form.get("version", "")
    if not raw.isdigit():
        abort(400, gettext("The form is missing its version; reload the page."))
    return int(raw)


def _load_doc(doc_id: int) -> Document:
    doc = db_session().get(Document, doc_id)
    if doc is None:
        raise NotFound(gettext("No such document."))
    if not can_see_document(db_session(), _me(), doc):
        raise Forbidden(gettext("You may not see this document."))
    return doc


def _load_incoming(incoming_id: int) -> Incoming:
    inc = db_session().get(Incoming, incoming_id)
    if inc is None:
        raise NotFound(gettext("No such incoming document."))
    if not can_see_incoming(db_session(), _me(), inc):
        raise Forbidden(gettext("You may not see this incoming document."))
    return inc


@bp.errorhandler(DocumentError)
def _document_error(exc: DocumentError) -> Any:
    db_session().rollback()
    return error_page(exc.status, exc.message)


@bp.route("/")
@login_required
def index() -> Any:
    tab = request.args.get("tab", "todo")
    if tab not in TABS:
        abort(400, gettext("Unknown folder."))
    s, me = db_session(), _me()
    context: dict[str, Any] = {"tab": tab}
    if tab == "todo":
        context["tasks"] = lists.my_tasks(s, me.person_id, limit=200)
    elif tab == "outgoing":
        context["documents"] = lists.outgoing(s, me)
        context["names"] = _names({d.drafter_id for d in context["documents"]})
    else:
        context["rows"] = lists.incoming(s, me)
        context["unit_names"] = {u.id: u.name for u in _units()}
    return render_template("documents/list.html", **context)


def _form() -> service.DraftForm:
    f = request.form

    def ids(name: str) -> tuple[int, ...]:
        return tuple(int(v) for v in f.getlist(name) if v.isdigit())

    return service.DraftForm(title=f.get("title", ""), doc_type=f.get("doc_type", ""),
                             category=f.get("category", ""), retention=f.get("retention", ""),
                             body=f.get("body", ""), countersign_units=ids("countersign_units"),
                             recipient_units=ids("recipient_units"))


def _compose(form: service.DraftForm, doc: Document | None = None,
             errors: dict[str, str] | None = None, message: str = "",
             status: int = 200, version: int | None = None) -> Any:
    return render_template("documents/form.html", form=form, doc=doc, errors=errors or {},
                           message=message, units=_units(), doc_types=numbering.DOC_TYPES,
                           categories=service.CATEGORIES, retentions=service.RETENTIONS,
                           version=version), status


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    if request.method == "GET":
        return _compose(service.DraftForm())
    s = db_session()
    form = _form()
    try:
        doc = service.create(s, _me(), form)
        s.commit()
    except ERRORS as exc:
        s.rollback()
        return _compose(form, None, getattr(exc, "errors", {}), exc.message, exc.status)
    flash(gettext("Draft saved. Submit it when it is ready."), "info")
    return redirect(url_for("documents.show", doc_id=doc.id))


@bp.route("/<int:doc_id>/edit", methods=["GET", "POST"])
@login_required
def edit(doc_id: int) -> Any:
    s = db_session()
    doc = _load_doc(doc_id)
    inst = s.get(WorkflowInstance, doc.instance_id)
    assert inst is not None
    if request.method == "GET":
        return _compose(service._form_of(doc), doc, version=inst.version)
    form = _form()
    try:
        service.update_draft(s, _me(), doc, form, _version())
        s.commit()
    except ERRORS as exc:
        s.rollback()
        s.expire_all()
        return _compose(form, doc, getattr(exc, "errors", {}), exc.message, exc.status,
                        version=inst.version)
    flash(gettext("Draft saved."), "info")
    return redirect(url_for("documents.show", doc_id=doc.id))


def _flow(instance_id: int | None) -> dict[str, Any]:
    """History, open tasks and the names they mention, for a page's flow section."""
    s = db_session()
    if instance_id is None:
        return {"history": [], "open_tasks": [], "inst": None, "names": {}}
    inst = s.get(WorkflowInstance, instance_id)
    history = workflow_history(s, instance_id)
    tasks = workflow_tasks(s, instance_id)
    open_tasks = [t for t in tasks if t.status == "open"]
    people = {h.actor_id for h in history if h.actor_id} | {t.assignee_id for t in tasks}
    return {"history": history, "open_tasks": open_tasks, "inst": inst, "tasks": tasks,
            "names": _names(people)}


def _show(doc: Document, message: str = "", status: int = 200) -> Any:
    s, me = db_session(), _me()
    flow = _flow(doc.instance_id)
    inst = flow["inst"]
    task = workflow_open_task_for(s, inst.id, me.person_id) if inst else None
    units = {u.id: u.name for u in _units()}
    return render_template(
        "documents/show.html", doc=doc, message=message, task=task, units=units,
        can_withdraw=bool(inst and workflow_can_withdraw(s, inst, me.person_id)),
        approve_label=lists.approve_label(service.OUTGOING, task.step) if task else "",
        incoming=service.incoming_of_document(s, doc), drafter=_names({doc.drafter_id}),
        doc_types=numbering.DOC_TYPES, **flow), status


@bp.route("/<int:doc_id>")
@login_required
def show(doc_id: int) -> Any:
    return _show(_load_doc(doc_id))


@bp.route("/<int:doc_id>/act", methods=["POST"])
@login_required
def act(doc_id: int) -> Any:
    s = db_session()
    doc = _load_doc(doc_id)
    action = request.form.get("action", "")
    try:
        service.act_outgoing(s, _me(), doc, action, expected_version=_version(),
                             comment=request.form.get("comment", "").strip())
        s.commit()
    except ERRORS as exc:
        s.rollback()
        s.expire_all()
        return _show(_load_doc(doc_id), exc.message, exc.status)
    flash(gettext("Done."), "info")
    return redirect(url_for("documents.show", doc_id=doc_id))


@bp.route("/<int:doc_id>/withdraw", methods=["POST"])
@login_required
def withdraw(doc_id: int) -> Any:
    s = db_session()
    doc = _load_doc(doc_id)
    try:
        service.withdraw_outgoing(s, _me(), doc, expected_version=_version())
        s.commit()
    except ERRORS as exc:
        s.rollback()
        s.expire_all()
        return _show(_load_doc(doc_id), exc.message, exc.status)
    flash(gettext("Withdrawn: the draft is yours again."), "info")
    return redirect(url_for("documents.show", doc_id=doc_id))


def _sealed(doc_id: int) -> Document:
    doc = _load_doc(doc_id)
    if not doc.sealed_file or not doc.signature:
        raise NotFound(gettext("This document has not been sealed yet."))
    return doc


@bp.route("/<int:doc_id>/file")
@login_required
def file(doc_id: int) -> Response:
    doc = _sealed(doc_id)
    return _download(doc.sealed_file or b"", sealing.filename(doc), "text/plain; charset=utf-8")


@bp.route("/<int:doc_id>/signature")
@login_required
def signature(doc_id: int) -> Response:
    doc = _sealed(doc_id)
    return _download(doc.signature or b"", sealing.filename(doc) + ".p7s",
                     "application/pkcs7-signature")


def _download(data: bytes, name: str, mimetype: str) -> Response:
    from urllib.parse import quote

    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = \
        f"attachment; filename=document.bin; filename*=UTF-8''{quote(name)}"
    return response


def _upload(name: str) -> bytes | None:
    f = request.files.get(name)
    if f is None or not f.filename:
        return None
    data = f.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        abort(413, gettext("The file is too large."))
    return data


@bp.route("/<int:doc_id>/verify", methods=["GET", "POST"])
@login_required
def verify(doc_id: int) -> Any:
    """Who signed the document and whether the kept file is unchanged; an uploaded copy is
    checked against the same signature."""
    s = db_session()
    doc = _sealed(doc_id)
    stored: Any
    try:
        stored = verify_signature(s, doc.signature or b"", doc.sealed_file or b"")
    except SignatureInvalid as exc:
        stored = exc
    result: Any = None
    status = 200
    if request.method == "POST":
        data = _upload("file")
        if data is None:
            result, status = SignatureInvalid(gettext("Choose a file to check.")), 400
        else:
            try:
                result = verify_signature(s, doc.signature or b"", data)
            except SignatureInvalid as exc:
                result, status = exc, 422
    return render_template("documents/verify.html", doc=doc, stored=stored, result=result,
                           checked=request.method == "POST"), status


@bp.route("/verify", methods=["GET", "POST"])
@login_required
def verify_any() -> Any:
    """Check any file against a detached signature (.p7s), for anyone signed in."""
    result: Any = None
    status = 200
    if request.method == "POST":
        data, sig = _upload("file"), _upload("signature")
        if data is None or sig is None:
            result, status = SignatureInvalid(gettext("Choose the file and its signature.")), 400
        else:
            try:
                result = verify_signature(db_session(), sig, data)
            except SignatureInvalid as exc:
                result, status = exc, 422
    return render_template("documents/verify.html", doc=None, stored=None, result=result,
                           checked=request.method == "POST"), status


# -- incoming ---------------------------------------------------------------------------------


def _show_incoming(inc: Incoming, message: str = "", status: int = 200,
                   errors: dict[str, str] | None = None) -> Any:
    s, me = db_session(), _me()
    doc = s.get(Document, inc.document_id)
    flow = _flow(inc.instance_id)
    inst = flow["inst"]
    task = workflow_open_task_for(s, inst.id, me.person_id) if inst else None
    readings = {r.person_id: r.read_at for r in s.query(Reading)
                .filter(Reading.incoming_id == inc.id)}
    readers = [int(r) for r in (inst.data.get("readers") or [])] if inst else []
    circulated = {t.assignee_id: t for t in flow.get("tasks", []) if t.step == "circulate"}
    names = {**flow["names"], **_names(set(readers) | set(readings))}
    return render_template(
        "documents/incoming.html", inc=inc, doc=doc, message=message, errors=errors or {},
        task=task, unit=s.get(OrgUnit, inc.unit_id), readings=readings, readers=readers,
        circulated=circulated, people=service.unit_people(s, inc.unit_id),
        approve_label=lists.approve_label(service.INCOMING, task.step) if task else "",
        **{**flow, "names": names}), status


@bp.route("/incoming/<int:incoming_id>")
@login_required
def incoming(incoming_id: int) -> Any:
    s = db_session()
    inc = _load_incoming(incoming_id)
    service.record_reading(s, inc, _me().person_id)
    s.commit()
    return _show_incoming(inc)


@bp.route("/incoming/<int:incoming_id>/act", methods=["POST"])
@login_required
def incoming_act(incoming_id: int) -> Any:
    s = db_session()
    inc = _load_incoming(incoming_id)
    form = {"handler_id": request.form.get("handler_id"),
            "readers": request.form.getlist("readers")}
    try:
        service.act_incoming(s, _me(), inc, request.form.get("action", ""),
                             expected_version=_version(),
                             comment=request.form.get("comment", "").strip(), form=form)
        s.commit()
    except ERRORS as exc:
        s.rollback()
        s.expire_all()
        return _show_incoming(_load_incoming(incoming_id), exc.message, exc.status,
                              getattr(exc, "errors", {}))
    flash(gettext("Done."), "info")
    return redirect(url_for("documents.incoming", incoming_id=incoming_id))
