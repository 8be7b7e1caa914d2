"""Arranging one's own homepage: move, resize, add, remove, restore, reset, own pages.

Every action is a POST that works as a plain form (redirect back to the page) and as JSON for
the drag-and-drop script (``{"version": n, ...}`` in, the new version or ``{"error": ...}``
out). Each carries the version of the page the client saw: a page changed meanwhile (another
tab, another device) answers 409 with the fresh layout and nothing is stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
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

from portal import personal
from portal.access import login_required
from portal.db import db_session
from portal.homepage import (
    TABS,
    StaleLayout,
    arranged_pages,
    delete_diff,
    forget_user_diffs,
    own_page_prefix,
    page_diff,
    save_diff,
)
from portal.personal import Refusal, Resolved, resolve

bp = Blueprint("arrange", __name__, url_prefix="/layout")
OWN_PAGE = re.compile(r"^u(\d+)-(\d+)$")
MAX_OWN_PAGES = 10


def _wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json"


def _data() -> dict[str, Any]:
    if request.is_json:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            abort(400, _("The request body must be a JSON object."))
        return data
    return request.form.to_dict()


def _seen_version(data: dict[str, Any]) -> int | None:
    value = data.get("version")
    if value in (None, ""):
        if _wants_json():
            abort(400, _("The page version is missing."))
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        abort(400, _("The page version must be a whole number."))


def _find(page_key: str) -> tuple[list[Resolved], Resolved]:
    owner = OWN_PAGE.match(page_key)
    if owner and int(owner.group(1)) != g.principal.person_id:
        abort(403, _("This page belongs to another user."))
    arranged = arranged_pages(db_session(), g.principal)
    found = next((r for r in arranged if r.page.key == page_key), None)
    if found is None:
        abort(404, _("You have no page %(key)s.", key=page_key))
    return arranged, found


def layout_json(resolved: Resolved) -> dict[str, Any]:
    """What the grid script needs to show a page again after a refused change."""
    page = resolved.page
    return {
        "page": page.key, "version": page.version, "layout_version": page.layout_version,
        "windows": [{"id": w.id, "portlet": w.portlet_id, "x": w.x, "y": w.y, "w": w.w,
                     "h": w.h, "state": w.state.value, "lock_move": w.lock_move or page.locked,
                     "lock_remove": w.lock_remove or page.locked} for w in page.windows],
        "removed": [{"id": r.id, "portlet": r.portlet_id, "reason": r.reason}
                    for r in resolved.removed],
    }


def _diff_of(page_key: str) -> dict[str, Any]:
    return page_diff(db_session(), g.principal.person_id, page_key)


def _apply(page_key: str, change: Callable[[Resolved, dict[str, Any]], dict[str, Any]],
           done: str, anchor: str = "") -> Any:
    """Run one change of the page's diff under the version check, then answer."""
    data = _data()
    seen = _seen_version(data)
    _arranged, resolved = _find(page_key)
    s = db_session()
    try:
        diff = change(resolved, data)
        # The post layout version this arrangement was made on: when a newer one is
        # published, the page tells the user what changed (until they say "noted").
        diff.setdefault("base", resolved.page.layout_version)
        version = save_diff(s, g.principal, page_key, seen, diff)
        s.commit()
    except Refusal as refusal:
        s.rollback()
        return _refuse(refusal.status, refusal.message, page_key)
    except StaleLayout:
        s.rollback()
        return _refuse(409, _("This page was changed in another window or on another device. "
                              "It now shows the latest layout; please try again."), page_key)
    forget_user_diffs(g.principal.person_id)
    if _wants_json():
        assert resolved.base is not None
        fresh = resolve(resolved.base, diff, _portlets(), g.principal)
        fresh = Resolved(replace(fresh.page, version=version), fresh.removed, resolved.base)
        return jsonify(ok=True, message=done, **layout_json(fresh))
    flash(done, "info")
    return redirect(url_for("pages.page", page_key=page_key) + anchor)


def _refuse(status: int, message: str, page_key: str) -> Any:
    if _wants_json():
        body: dict[str, Any] = {"error": message, "status": status}
        if status == 409:
            _arranged, fresh = _find(page_key)
            body["layout"] = layout_json(fresh)
        return jsonify(body), status
    abort(status, message)


def _portlets() -> Any:
    return current_app.extensions["portal"].portlets


@bp.get("/<page_key>")
@login_required
def show(page_key: str) -> Response:
    _arranged, resolved = _find(page_key)
    return jsonify(layout_json(resolved))


@bp.post("/<page_key>/move")
@login_required
def move(page_key: str) -> Any:
    return _apply(page_key, lambda r, data: personal.move(
        r.page, _diff_of(page_key), data.get("windows") or [], _portlets()), _("Saved."))


@bp.post("/<page_key>/add")
@login_required
def add(page_key: str) -> Any:
    def change(r: Resolved, data: dict[str, Any]) -> dict[str, Any]:
        diff, _window_id = personal.add(r.page, _diff_of(page_key),
                                        str(data.get("portlet", "")), _portlets(), g.principal)
        return diff

    return _apply(page_key, change, _("Added to the page."))


@bp.post("/<page_key>/remove")
@login_required
def remove(page_key: str) -> Any:
    return _apply(page_key, lambda r, data: personal.remove(
        r.page, _diff_of(page_key), str(data.get("window", ""))),
        _("Removed. You can bring it back from “Recently removed”."))


@bp.post("/<page_key>/restore")
@login_required
def restore(page_key: str) -> Any:
    return _apply(page_key, lambda r, data: personal.restore(
        r.page, _diff_of(page_key), str(data.get("window", "")), r.removed), _("Restored."))


@bp.post("/<page_key>/reset")
@login_required
def reset(page_key: str) -> Any:
    return _apply(page_key, lambda r, data: personal.reset(_diff_of(page_key)),
                  _("The page shows the post's layout again. You can undo this once."))


@bp.post("/<page_key>/undo")
@login_required
def undo(page_key: str) -> Any:
    return _apply(page_key, lambda r, data: personal.undo(_diff_of(page_key)),
                  _("Your own arrangement is back."))


@bp.post("/<page_key>/seen")
@login_required
def seen(page_key: str) -> Any:
    """The user has read what the administrator changed: stop showing it."""
    def change(r: Resolved, data: dict[str, Any]) -> dict[str, Any]:
        diff = _diff_of(page_key)
        diff["base"] = r.page.layout_version
        return diff

    return _apply(page_key, change, _("Noted."))


@bp.post("/reset-all")
@login_required
def reset_all() -> Any:
    """Every post page back to its post's layout, each keeping one undo."""
    s = db_session()
    count = 0
    for r in arranged_pages(s, g.principal):
        if r.page.own:
            continue
        try:
            diff = personal.reset(_diff_of(r.page.key))
        except Refusal:
            continue
        save_diff(s, g.principal, r.page.key, None, diff)
        count += 1
    s.commit()
    forget_user_diffs(g.principal.person_id)
    flash(_("%(n)d page(s) show the post's layout again. Undo is on each page.", n=count), "info")
    return redirect(url_for("pages.home"))


# --- Own pages and the order of the tabs ----------------------------------------------------

@bp.post("/pages")
@login_required
def new_page() -> Any:
    data = _data()
    try:
        title = personal.valid_page_title(str(data.get("title", "")))
    except Refusal as refusal:
        abort(refusal.status, refusal.message)
    arranged = arranged_pages(db_session(), g.principal)
    prefix = own_page_prefix(g.principal.person_id)
    own = [r.page.key for r in arranged if r.page.key.startswith(prefix)]
    if len(own) >= MAX_OWN_PAGES:
        abort(400, _("You can have at most %(n)d pages of your own.", n=MAX_OWN_PAGES))
    numbers = [int(k[len(prefix):]) for k in own]
    key = f"{prefix}{max(numbers, default=0) + 1}"
    s = db_session()
    try:
        save_diff(s, g.principal, key, 0, {"title": title})
        s.commit()
    except StaleLayout:
        s.rollback()
        abort(409, _("That page was just created elsewhere. Reload and try again."))
    forget_user_diffs(g.principal.person_id)
    if _wants_json():
        return jsonify(ok=True, page=key), 201
    return redirect(url_for("pages.page", page_key=key))


def _own_page(page_key: str) -> Resolved:
    _arranged, resolved = _find(page_key)
    if not resolved.page.own:
        abort(403, _("Pages of your post cannot be renamed or deleted; you can reset them."))
    return resolved


@bp.post("/<page_key>/rename")
@login_required
def rename(page_key: str) -> Any:
    _own_page(page_key)

    def change(r: Resolved, data: dict[str, Any]) -> dict[str, Any]:
        diff = _diff_of(page_key)
        diff["title"] = personal.valid_page_title(str(data.get("title", "")))
        return diff

    return _apply(page_key, change, _("Page renamed."))


@bp.post("/<page_key>/delete")
@login_required
def delete_page(page_key: str) -> Any:
    _own_page(page_key)
    s = db_session()
    delete_diff(s, g.principal, page_key)
    s.commit()
    forget_user_diffs(g.principal.person_id)
    flash(_("Page deleted."), "info")
    return redirect(url_for("pages.home"))


@bp.post("/tabs")
@login_required
def tabs() -> Any:
    """The order of the tabs: a full list (JSON), or one tab moved left/right (form)."""
    data = _data()
    arranged = arranged_pages(db_session(), g.principal)
    keys = [r.page.key for r in arranged]
    if "order" in data:
        order = data["order"]
        if not isinstance(order, list) or sorted(map(str, order)) != sorted(keys):
            abort(400, _("The new order must list each of your pages once."))
        order = [str(k) for k in order]
    else:
        key, step = str(data.get("page", "")), 1 if data.get("direction") == "right" else -1
        if key not in keys:
            abort(404, _("You have no page %(key)s.", key=key))
        i = keys.index(key)
        j = max(0, min(len(keys) - 1, i + step))
        keys[i], keys[j] = keys[j], keys[i]
        order = keys
    s = db_session()
    save_diff(s, g.principal, TABS, None, {"order": order})
    s.commit()
    forget_user_diffs(g.principal.person_id)
    if _wants_json():
        return jsonify(ok=True, order=order)
    return redirect(request.referrer or url_for("pages.home"))


# --- The catalogue ("添加栏目") ------------------------------------------------------------

@bp.get("/<page_key>/catalogue")
@login_required
def catalogue(page_key: str) -> Any:
    """The portlets the user's posts allow, by category, searchable, to add to this page."""
    _arranged, resolved = _find(page_key)
    query = (request.args.get("q") or "").strip()[:50].lower()
    groups: dict[str, list[Any]] = {}
    for portlet in sorted(_portlets().values(), key=lambda p: (p.category, str(p.title))):
        if not portlet.allowed_for(g.principal):
            continue
        text = f"{portlet.id} {_(str(portlet.title))} {_(str(portlet.description))}".lower()
        if query and query not in text:
            continue
        groups.setdefault(portlet.category, []).append(portlet)
    on_page = {w.portlet_id for w in resolved.page.windows}
    return render_template("portal/catalogue.html", page=resolved.page, groups=groups,
                           query=query, on_page=on_page)
