"""The collaboration pages, mounted at ``/collab/``: lists, compose, an item with its trace and
actions, attachments, the leaders' query with exports and charts.

Every action form carries the item's ``version``: a form rendered before somebody else acted
answers 409 instead of acting on a state its author never saw.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from portal.toolkit import (
    Customer,
    OrgUnit,
    Person,
    Principal,
    current_principal,
    db_session,
    error_page,
    gettext,
    login_required,
)
from portlets.collab import access, catalogue, lists, query, service
from portlets.collab.errors import CollabError, Conflict, Forbidden, Invalid
from portlets.collab.models import Attachment, WorkItem
from portlets.collab.states import EDITABLE, Action, State, actions_for, state_label
from portlets.collab.storage import storage

bp = Blueprint("collab", __name__, url_prefix="/collab", template_folder="templates")


def _me() -> Principal:
    principal = current_principal()
    assert principal is not None
    return principal


@bp.app_template_filter("collab_state")
def _state_filter(state: str) -> str:
    return state_label(state)


@bp.app_template_filter("collab_type")
def _type_filter(code: str) -> str:
    wt = catalogue.work_type(code)
    return wt.name if wt else code


def _uploads() -> service.Uploads:
    files = [f for f in request.files.getlist("attachments") if f and f.filename]
    return service.Uploads([service.Upload(f.filename or "", f.read()) for f in files])


def _page_number() -> int:
    raw = request.args.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= 10_000:
        abort(400, gettext("The page number must be a positive whole number."))
    return int(raw)


@bp.route("/")
@login_required
def index() -> Any:
    box = request.args.get("box", "todo")
    if box not in lists.BOXES:
        abort(400, gettext("Unknown folder."))
    number = _page_number()
    text = (request.args.get("q") or "").strip()[:100]
    rows, has_next = lists.box(db_session(), _me(), box, number, text=text)
    return render_template("collab/list.html", box=box, rows=rows, page=number,
                           has_next=has_next, q=text, boxes=lists.BOXES)


# --- compose ---------------------------------------------------------------------------------


def _handler_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Units (department inboxes) and their people, grouped by unit, in tree order."""
    s = db_session()
    units = s.execute(select(OrgUnit.id, OrgUnit.name, OrgUnit.path)
                      .order_by(OrgUnit.path)).all()
    people: dict[int | None, list[tuple[int, str]]] = {}
    for pid, name, unit in s.execute(select(Person.id, Person.display_name, Person.org_unit_id)
                                     .where(Person.active.is_(True))
                                     .order_by(Person.username)):
        people.setdefault(unit, []).append((pid, name))
    groups = []
    for uid, name, path in units:
        options = [(f"unit:{uid}", gettext("%(unit)s (department inbox)", unit=name))]
        options += [(f"person:{pid}", pname) for pid, pname in people.get(uid, [])]
        groups.append(("　" * (path.count("/") - 2) + name, options))
    return groups


def _compose(form: service.ItemForm, item: WorkItem | None, errors: dict[str, str],
             message: str = "", status: int = 200) -> Any:
    customer = None
    if item is not None and item.customer_id:
        customer = db_session().get(Customer, item.customer_id)
    return render_template("collab/compose.html", form=form, item=item, errors=errors,
                           message=message, types=catalogue.work_types(),
                           handlers=_handler_choices(), staff=service.STAFF_LABELS,
                           customer=customer,
                           max_mb=service.setting("COLLAB_MAX_ATTACHMENT_BYTES") / 1048576,  # type: ignore[operator]
                           allowed=", ".join(service.setting("COLLAB_ATTACHMENT_TYPES"))), status  # type: ignore[arg-type]


def _form() -> service.ItemForm:
    f = request.form
    return service.ItemForm(type_code=f.get("type_code", ""), subject=f.get("subject", ""),
                            content=f.get("content", ""), customer_id=f.get("customer", ""),
                            target=f.get("target", ""))


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    if request.method == "GET":
        return _compose(service.ItemForm(type_code=request.args.get("type", ""),
                                         customer_id=request.args.get("customer", "")),
                        None, {})
    return _save(None)


@bp.route("/items/<int:item_id>/edit", methods=["GET", "POST"])
@login_required
def edit(item_id: int) -> Any:
    item = _load(item_id)
    if item.state not in EDITABLE or item.originator_id != _me().person_id:
        raise Conflict(gettext("Only the originator can edit a draft, returned or recalled "
                               "work item."))
    if request.method == "GET":
        customer = db_session().get(Customer, item.customer_id) if item.customer_id else None
        return _compose(service.ItemForm(type_code=item.type_code, subject=item.subject,
                                         content=item.content,
                                         customer_id=customer.customer_code if customer
                                         else ""), item, {})
    return _save(item)


def _save(item: WorkItem | None) -> Any:
    s = db_session()
    me = _me()
    form = _form()
    uploads = _uploads()
    submitting = request.form.get("action") == "submit"
    try:
        if item is not None and str(item.version) != request.form.get("version", ""):
            raise Conflict(gettext("Somebody else changed this work item in the meantime; "
                                   "reload it and try again."))
        saved = service.save_draft(s, me, form, uploads, item, need_target=submitting)
        if submitting:
            service.submit(s, me, saved, form.target, request.form.get("comment", ""))
        s.commit()
    except StaleDataError:
        s.rollback()
        uploads.undo()
        return _compose(form, item, {}, _stale_message(), 409)
    except CollabError as exc:
        s.rollback()
        uploads.undo()
        return _compose(form, item, exc.errors, exc.message, exc.status)
    if submitting:
        flash(gettext("Work item submitted."), "info")
        return redirect(url_for("collab.show", item_id=saved.id))
    flash(gettext("Draft saved."), "info")
    return redirect(url_for("collab.edit", item_id=saved.id))


def _stale_message() -> str:
    return gettext("Somebody else acted on this work item at the same time; reload it to see "
                   "what changed.")


# --- one item --------------------------------------------------------------------------------


def _load(item_id: int, version: str | None = None) -> WorkItem:
    return service.load(db_session(), item_id, _me(), version)


def _show(item: WorkItem, error: str = "", errors: dict[str, str] | None = None,
          status: int = 200) -> Any:
    s = db_session()
    me = _me()
    roles = access.roles(s, item, me)
    actions = [a for a in actions_for(State(item.state), roles)
               if a not in (Action.SAVE, Action.DELETE)]
    next_level = service.next_level(s, item) if Action.ESCALATE in actions else None
    if next_level is None and Action.ESCALATE in actions:
        actions.remove(Action.ESCALATE)
    names = dict(s.execute(select(Person.id, Person.display_name).where(Person.id.in_(
        [i for i in (item.originator_id, item.handler_person_id) if i]))).all())
    unit = s.get(OrgUnit, item.handler_unit_id) if item.handler_unit_id else None
    customer = s.get(Customer, item.customer_id) if item.customer_id else None
    return render_template(
        "collab/item.html", item=item, actions=actions, error=error, errors=errors or {},
        wt=catalogue.work_type(item.type_code), names=names, unit=unit, customer=customer,
        handlers=_handler_choices() if Action.FORWARD in actions else [],
        staff=service.STAFF_LABELS, grades=catalogue.GRADES,
        next_level=next_level,
        editable=item.state in EDITABLE and item.originator_id == me.person_id), status


@bp.route("/items/<int:item_id>")
@login_required
def show(item_id: int) -> Any:
    return _show(_load(item_id))


@bp.route("/items/<int:item_id>/<action>", methods=["POST"])
@login_required
def act(item_id: int, action: str) -> Any:
    s = db_session()
    me = _me()
    f = request.form
    if action not in {a.value for a in Action} - {"save"}:
        abort(404)
    uploads = _uploads()
    try:
        item = _load(item_id, f.get("version", ""))
        if action == "delete":
            service.delete_draft(s, me, item)
            s.commit()
            flash(gettext("Draft deleted."), "info")
            return redirect(url_for("collab.index", box="drafts"))
        _perform(Action(action), item, me, uploads)
        s.commit()
    except StaleDataError:
        s.rollback()
        uploads.undo()
        s.expire_all()
        return _show(_load(item_id), _stale_message(), status=409)
    except CollabError as exc:
        s.rollback()
        uploads.undo()
        s.expire_all()
        if isinstance(exc, Forbidden):
            raise
        return _show(_load(item_id), exc.message, exc.errors, exc.status)
    flash(gettext("Done: %(action)s.", action=_done_label(action)), "info")
    if access.roles(s, item, me):
        return redirect(url_for("collab.show", item_id=item.id))
    return redirect(url_for("collab.index"))


def _done_label(action: str) -> str:
    from portlets.collab.states import action_label

    return action_label(action)


def _perform(action: Action, item: WorkItem, me: Principal, uploads: service.Uploads) -> None:
    s = db_session()
    f = request.form
    comment = f.get("comment", "")
    if action is Action.SUBMIT:
        service.submit(s, me, item, f.get("target", ""), comment)
    elif action is Action.ACCEPT:
        service.accept(s, me, item)
    elif action is Action.FORWARD:
        service.forward(s, me, item, f.get("target", ""), comment, uploads)
    elif action is Action.RETURN:
        service.return_(s, me, item, comment)
    elif action is Action.FINISH:
        service.finish(s, me, item, f.get("result", ""), uploads)
    elif action is Action.RECALL:
        service.recall(s, me, item)
    elif action is Action.ESCALATE:
        service.escalate(s, me, item, f.get("reason", ""))
    elif action in (Action.RATE, Action.REOPEN):
        service.rate(s, me, item, f.get("score", ""), f.get("grade", ""), comment)
    elif action is Action.ARCHIVE:
        service.archive(s, me, item)
    else:
        raise Invalid(gettext("Unknown action."))


@bp.route("/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int) -> Any:
    s = db_session()
    row = s.get(Attachment, attachment_id)
    if row is None:
        abort(404)
    _load(row.item_id)  # 403 / 404 unless the item is visible
    try:
        stream = storage().open(row.storage_key)
    except FileNotFoundError:
        abort(404, gettext("The file is no longer stored."))
    return send_file(stream, mimetype=row.content_type, as_attachment=True,
                     download_name=row.filename, max_age=0)


@bp.route("/customers/<code>/staff")
@login_required
def customer_staff(code: str) -> Any:
    """The three staff of a customer, for the compose form's "转给该客户的…" choices."""
    s = db_session()
    c = s.scalars(select(Customer).where(Customer.customer_code == code)).first()
    if c is None:
        abort(404, gettext("Unknown customer."))
    staff = {role: s.get(Person, getattr(c, f"{role}_id")) for role in service.STAFF_LABELS}
    return {"customer": c.name, "staff": {r: p.display_name if p else None
                                          for r, p in staff.items()}}


# --- leaders' query --------------------------------------------------------------------------


@bp.route("/query")
@login_required
def query_page() -> Any:
    s = db_session()
    me = _me()
    try:
        filters = query.Filters.from_args(request.args)
    except Invalid as exc:
        return render_template("collab/query.html", filters=query.Filters(), rows=[],
                               has_next=False, page=1, errors=exc.errors, message=exc.message,
                               figures=None, units=_units(me), types=catalogue.work_types(),
                               states=list(State), grades=catalogue.GRADES), 400
    number = _page_number()
    rows, has_next = query.page(s, me, filters, number)
    return render_template("collab/query.html", filters=filters, rows=rows, has_next=has_next,
                           page=number, errors={}, message="",
                           figures=query.analytics(s, me, filters), units=_units(me),
                           types=catalogue.work_types(), states=list(State),
                           grades=catalogue.GRADES)


def _units(me: Principal) -> list[tuple[int, str]]:
    """The units a leader may filter by: their managed subtrees (admins: every unit)."""
    s = db_session()
    q = select(OrgUnit.id, OrgUnit.name, OrgUnit.path).order_by(OrgUnit.path)
    if not me.is_admin:
        paths = access.managed_paths(s, me)
        if not paths:
            return []
        from sqlalchemy import or_

        from portal.toolkit import prefix_match

        q = q.where(or_(*[prefix_match(OrgUnit.path, p) for p in paths]))
    return [(i, "　" * (p.count("/") - 2) + n) for i, n, p in s.execute(q)]


@bp.route("/query.<fmt>")
@login_required
def export(fmt: str) -> Any:
    if fmt not in ("csv", "xlsx"):
        abort(404)
    try:
        filters = query.Filters.from_args(request.args)
    except Invalid as exc:
        abort(400, exc.message)
    headers, rows = query.rows_for_export(db_session(), _me(), filters)
    if fmt == "csv":
        body, mime = query.to_csv(headers, rows), "text/csv; charset=utf-8"
    else:
        body = query.to_xlsx(headers, rows)
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mime, headers={
        "Content-Disposition": f"attachment; filename=collab-items.{fmt}"})


@bp.errorhandler(CollabError)
def _collab_error(exc: CollabError) -> Any:
    """403 / 404 / 409 raised outside an action's own handling: the portal's error page."""
    db_session().rollback()
    return error_page(exc.status, exc.message)
