"""The notices pages: inbox, sent, drafts, compose, read. Mounted at ``/p/notices/``."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import func, select

from portal.toolkit import (
    OrgUnit,
    Post,
    current_principal,
    db_session,
    gettext,
    login_required,
)
from portlets.notices import service
from portlets.notices.models import Notice, NoticeReceipt

bp = Blueprint("notices", __name__, template_folder="templates")
PAGE_SIZE = 20


def _page_number() -> int:
    raw = request.args.get("page", "1")
    if not raw.isdigit() or int(raw) < 1 or int(raw) > 10_000:
        abort(400, gettext("The page number must be a positive whole number."))
    return int(raw)


@bp.route("/")
@login_required
def inbox() -> Any:
    principal = current_principal()
    assert principal is not None
    s = db_session()
    box = request.args.get("box", "inbox")
    page = _page_number()
    if box == "inbox":
        query = (select(Notice, NoticeReceipt.read_at)
                 .join(NoticeReceipt, NoticeReceipt.notice_id == Notice.id)
                 .where(NoticeReceipt.person_id == principal.person_id)
                 .order_by(Notice.submitted_at.desc(), Notice.id.desc()))
    elif box in ("sent", "drafts"):
        submitted = Notice.submitted_at.is_not(None) if box == "sent" else \
            Notice.submitted_at.is_(None)
        query = (select(Notice, Notice.submitted_at).where(
            Notice.sender_id == principal.person_id, submitted)
                 .order_by(Notice.updated_at.desc(), Notice.id.desc()))
    else:
        abort(400, gettext("Unknown folder."))
    rows = db_session().execute(query.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).all()
    counts = {}
    if box == "sent":
        ids = [n.id for n, _ in rows]
        counts = {nid: (int(r), int(t)) for nid, t, r in s.execute(
            select(NoticeReceipt.notice_id, func.count(NoticeReceipt.id),
                   func.count(NoticeReceipt.read_at))
            .where(NoticeReceipt.notice_id.in_(ids)).group_by(NoticeReceipt.notice_id))}
    return render_template("notices/list.html", box=box, rows=rows[:PAGE_SIZE], page=page,
                           has_next=len(rows) > PAGE_SIZE, counts=counts,
                           unread=service.unread_count(s, principal.person_id))


def _form_from_request() -> service.NoticeForm:
    return service.NoticeForm(
        title=request.form.get("title", ""), content=request.form.get("content", ""),
        usernames=request.form.get("usernames", ""), posts=request.form.getlist("posts"),
        orgs=request.form.getlist("orgs"),
    )


def _compose(form: service.NoticeForm, errors: dict[str, str], notice: Notice | None) -> Any:
    s = db_session()
    posts = s.execute(select(Post.code, Post.name).order_by(Post.id)).all()
    orgs = s.execute(select(OrgUnit.id, OrgUnit.name, OrgUnit.path).order_by(OrgUnit.path)).all()
    status = 400 if errors else 200
    return render_template("notices/compose.html", form=form, errors=errors, notice=notice,
                           posts=posts, orgs=orgs), status


def _own_draft(notice_id: int) -> Notice:
    principal = current_principal()
    assert principal is not None
    notice = db_session().get(Notice, notice_id)
    if notice is None or notice.sender_id != principal.person_id:
        abort(404)
    if not notice.is_draft:
        abort(409, gettext("This notice has been submitted and can no longer be changed."))
    return notice


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    if request.method == "GET":
        return _compose(service.NoticeForm(), {}, None)
    return _save(None)


@bp.route("/<int:notice_id>/edit", methods=["GET", "POST"])
@login_required
def edit(notice_id: int) -> Any:
    notice = _own_draft(notice_id)
    if request.method == "GET":
        form = service.NoticeForm(
            title=notice.title, content=notice.content,
            usernames=", ".join(t.ref for t in notice.targets if t.kind == "person"),
            posts=[t.ref for t in notice.targets if t.kind == "post"],
            orgs=[t.ref for t in notice.targets if t.kind == "org"])
        return _compose(form, {}, notice)
    return _save(notice)


def _save(notice: Notice | None) -> Any:
    principal = current_principal()
    assert principal is not None
    s = db_session()
    form = _form_from_request()
    saved, errors = service.save_draft(s, principal, form, notice)
    if errors or saved is None:
        s.rollback()
        return _compose(form, errors, notice)
    s.flush()
    if request.form.get("action") == "submit":
        count = service.submit(s, saved)  # refreshes the recipients' windows on commit
        s.commit()
        service.refresh_windows({principal.person_id})
        flash(gettext("Notice sent to %(n)d people.", n=count), "info")
        return redirect(url_for("notices.show", notice_id=saved.id))
    s.commit()
    flash(gettext("Draft saved."), "info")
    return redirect(url_for("notices.inbox", box="drafts"))


@bp.route("/<int:notice_id>/delete", methods=["POST"])
@login_required
def delete(notice_id: int) -> Any:
    notice = _own_draft(notice_id)
    s = db_session()
    s.delete(notice)
    s.commit()
    flash(gettext("Draft deleted."), "info")
    return redirect(url_for("notices.inbox", box="drafts"))


@bp.route("/<int:notice_id>/submit", methods=["POST"])
@login_required
def submit(notice_id: int) -> Any:
    notice = _own_draft(notice_id)
    s = db_session()
    count = service.submit(s, notice)  # refreshes the recipients' windows on commit
    s.commit()
    service.refresh_windows([notice.sender_id] if notice.sender_id else [])
    flash(gettext("Notice sent to %(n)d people.", n=count), "info")
    return redirect(url_for("notices.show", notice_id=notice.id))


@bp.get("/unread")
def unread() -> Any:
    """``{"count": n}``: the signed-in person's unread notices, for the header badge."""
    principal = current_principal()
    if principal is None:
        resp = jsonify(error=gettext("Please sign in."), status=401)
        resp.status_code = 401
        return resp
    resp = jsonify(count=service.unread_count(db_session(), principal.person_id))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/<int:notice_id>")
@login_required
def show(notice_id: int) -> Any:
    """Readable by its sender, and by its recipients once submitted; nobody else."""
    principal = current_principal()
    assert principal is not None
    s = db_session()
    notice = s.get(Notice, notice_id)
    if notice is None:
        abort(404)
    is_sender = notice.sender_id == principal.person_id
    if not is_sender:
        if notice.is_draft:
            abort(404)
        if service.mark_read(s, notice.id, principal.person_id):
            s.commit()
            service.refresh_windows([principal.person_id])
        elif not s.scalar(select(NoticeReceipt.id).where(
                NoticeReceipt.notice_id == notice.id,
                NoticeReceipt.person_id == principal.person_id)):
            abort(403, gettext("This notice was not sent to you."))
    counts = service.read_counts(s, notice.id) if is_sender and not notice.is_draft else None
    return render_template("notices/show.html", notice=notice, is_sender=is_sender,
                           counts=counts)
