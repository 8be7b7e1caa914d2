"""The post layout editor: edit a post's pages in the browser, preview them as a user of the
post would see them, publish a new version, read the history, roll back, export to YAML.

The editor keeps its draft in the browser (the same grid as the homepage) and sends the whole
document to publish or preview, so an abandoned edit leaves nothing behind and the server's
only job is the one that matters: checking the document exactly as a layout file is checked.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import replace
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select

from portal import audit
from portal.assurance import admin_required
from portal.db import db_session
from portal.layout import dump_yaml, parse_document, to_document
from portal.layout_versions import (
    LayoutRejected,
    announce,
    check_document,
    describe_changes,
    effective_layouts,
    get_version,
    history,
    publish,
)
from portal.models import Person, Post, PostAssignment
from portal.people import principal_for

bp = Blueprint("layout_admin", __name__, url_prefix="/admin/layouts")
MAX_DOCUMENT = 200_000  # bytes of JSON: far above any real layout, far below a DoS


def _state() -> Any:
    return current_app.extensions["portal"]


def _post(code: str) -> Post:
    post = db_session().scalars(select(Post).where(Post.code == code)).first()
    if post is None:
        abort(404, _("There is no post %(code)s.", code=code))
    return post


def _current_document(code: str) -> dict[str, Any]:
    layout = effective_layouts(db_session()).get(code)
    if layout is None:
        post = _post(code)
        return {"post": code, "title": post.name,
                "pages": [{"id": "home", "title": "首页", "title_en": "Home", "windows": []}]}
    return to_document(layout)


@bp.get("/")
@admin_required
def index() -> Any:
    s = db_session()
    layouts = effective_layouts(s)
    posts = list(s.scalars(select(Post).order_by(Post.id)))
    rows = []
    for post in posts:
        layout = layouts.get(post.code)
        versions = history(s, post.code)
        rows.append({"post": post, "layout": layout, "latest": versions[0] if versions else None,
                     "count": len(versions)})
    return render_template("admin/layouts.html", rows=rows,
                           problems=_state().layout_problems)


@bp.get("/<code>")
@admin_required
def editor(code: str) -> Any:
    post = _post(code)
    document = _current_document(code)
    portlets = sorted(_state().portlets.values(), key=lambda p: (p.category, p.id))
    catalogue = [{"id": p.id, "title": _(str(p.title)), "category": p.category,
                  "min": [p.min_size.w, p.min_size.h], "max": [p.max_size.w, p.max_size.h],
                  "size": [p.default_size.w, p.default_size.h]} for p in portlets]
    layout = effective_layouts(db_session()).get(code)
    return render_template("admin/layout_editor.html", post=post, document=document,
                           catalogue=catalogue, version=layout.version if layout else 0)


def _document_from_request() -> tuple[dict[str, Any], str]:
    if request.content_length and request.content_length > MAX_DOCUMENT:
        abort(413, _("The layout is too large."))
    if request.is_json:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            abort(400, _("The request body must be a JSON object."))
        document, note = data.get("document"), str(data.get("note") or "")
    else:
        try:
            document = json.loads(request.form.get("document", ""))
        except ValueError:
            abort(400, _("The layout is not valid JSON."))
        note = request.form.get("note", "")
    if not isinstance(document, dict):
        abort(400, _("The layout must be a mapping."))
    return document, note[:200]


@bp.post("/<code>/publish")
@admin_required
def publish_version(code: str) -> Any:
    _post(code)
    document, note = _document_from_request()
    if document.get("post") != code:
        abort(400, _("This layout is for post %(other)s, not %(code)s.",
                     other=document.get("post"), code=code))
    s = db_session()
    try:
        row = publish(s, document, source="editor", author=g.principal.username, note=note,
                      portlets=_state().portlets)
    except LayoutRejected as rejected:
        s.rollback()
        return jsonify(error=_("The layout has problems; nothing was published."),
                       problems=[p.message for p in rejected.problems]), 400
    audit.record(s, "layout.publish", code, version=row.version, note=note)
    s.commit()
    announce()
    flash(_("Version %(v)d of %(post)s is published.", v=row.version, post=code), "info")
    return jsonify(ok=True, version=row.version,
                   url=url_for("layout_admin.history_page", code=code))


@bp.post("/<code>/check")
@admin_required
def check(code: str) -> Any:
    document, _note = _document_from_request()
    problems = check_document(document, _state().portlets)
    return jsonify(ok=not problems, problems=[p.message for p in problems])


@bp.post("/<code>/preview")
@admin_required
def preview(code: str) -> Any:
    """The draft's first (or chosen) page, rendered for a sample user of the post."""
    from portal.views.pages import render_preview

    _post(code)
    document, _note = _document_from_request()
    problems = check_document(document, _state().portlets)
    if problems:
        abort(400, "; ".join(p.message for p in problems[:5]))
    s = db_session()
    sample = s.scalars(
        select(Person).join(PostAssignment, PostAssignment.person_id == Person.id)
        .join(Post, Post.id == PostAssignment.post_id)
        .where(Post.code == code, Person.active.is_(True)).order_by(Person.id).limit(1)).first()
    if sample is None:
        abort(404, _("Nobody holds post %(code)s yet: there is no one to preview as.", code=code))
    digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:12]
    layout = parse_document(document, source="preview")
    pages = [replace(p, key=f"preview-{digest}.{p.key.split('.', 1)[1]}") for p in layout.pages]
    wanted = request.values.get("page") or ""
    page = next((p for p in pages if p.key.endswith("." + wanted)), pages[0])
    g.principal = principal_for(s, sample)
    g.portal_pages = pages
    g.portal_page_key = page.key
    return render_preview(pages, page, sample.display_name)


@bp.get("/<code>/history")
@admin_required
def history_page(code: str) -> Any:
    post = _post(code)
    s = db_session()
    versions = history(s, code)
    entries = []
    for i, row in enumerate(versions):
        older = versions[i + 1] if i + 1 < len(versions) else None
        old_doc = older.document if older is not None else _file_document(code)
        entries.append({
            "row": row, "changes": describe_changes(old_doc, row.document),
            "diff": "".join(difflib.unified_diff(
                dump_yaml(old_doc).splitlines(keepends=True) if old_doc else [],
                dump_yaml(row.document).splitlines(keepends=True),
                fromfile=f"v{older.version}" if older else "file", tofile=f"v{row.version}")),
        })
    return render_template("admin/layout_history.html", post=post, entries=entries)


def _file_document(code: str) -> dict[str, Any] | None:
    layout = _state().layouts.get(code)
    return to_document(layout) if layout is not None else None


@bp.post("/<code>/rollback/<int:version>")
@admin_required
def rollback(code: str, version: int) -> Any:
    """Publish an old version again, as the newest: the history keeps every step."""
    s = db_session()
    row = get_version(s, code, version)
    if row is None:
        abort(404, _("Post %(code)s has no version %(v)d.", code=code, v=version))
    try:
        new = publish(s, row.document, source="rollback", author=g.principal.username,
                      note=_("Back to version %(v)d", v=version), portlets=_state().portlets)
    except LayoutRejected as rejected:
        s.rollback()
        abort(409, _("Version %(v)d no longer passes the checks: %(problems)s", v=version,
                     problems="; ".join(p.message for p in rejected.problems[:3])))
    audit.record(s, "layout.rollback", code, version=new.version, to=version)
    s.commit()
    announce()
    flash(_("Version %(v)d is published again as version %(new)d.", v=version,
            new=new.version), "info")
    return redirect(url_for("layout_admin.history_page", code=code))


@bp.get("/<code>/export")
@admin_required
def export(code: str) -> Response:
    version = request.args.get("version", type=int)
    if version:
        row = get_version(db_session(), code, version)
        if row is None:
            abort(404, _("Post %(code)s has no version %(v)d.", code=code, v=version))
        document = row.document
    else:
        _post(code)
        document = _current_document(code)
    text = f"# {code} — exported from 个人工作平台\n" + dump_yaml(document)
    return Response(text, mimetype="application/yaml", headers={
        "Content-Disposition": f'attachment; filename="{code}.yaml"'})
