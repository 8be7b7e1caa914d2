"""The homepage, its tabs, and each portlet window on its own (fragments, edit, help)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _

from portal import personal
from portal.access import login_required
from portal.aggregator import WindowRequest
from portal.assembly import CSRF, csrf_token, fill, placeholders
from portal.auth import Principal
from portal.db import db_session
from portal.homepage import (
    StaleLayout,
    arranged_pages,
    diff_counter,
    forget_user_diffs,
    page_diff,
    save_diff,
    window_portlet,
    window_request,
)
from portal.layout import PageSpec, WindowSpec
from portal.layout_versions import COUNTER as LAYOUTS_COUNTER
from portal.layout_versions import describe_changes, get_version
from portal.personal import Refusal, Resolved
from portal.portlet import Mode, Portlet, WindowState

bp = Blueprint("pages", __name__)


def _state() -> Any:
    return current_app.extensions["portal"]


def _page(key: str | None) -> tuple[list[PageSpec], PageSpec]:
    arranged = arranged_pages(db_session(), g.principal, key)
    pages = [r.page for r in arranged]
    g.portal_pages = pages  # the tab bar reuses them instead of asking again
    if not pages:
        abort(404)
    found = arranged[0] if key is None else next((r for r in arranged if r.page.key == key),
                                                 None)
    if found is None:
        if key and key.startswith("u") and not key.startswith(f"u{g.principal.person_id}-"):
            abort(403, _("This page belongs to another user."))
        abort(404)
    g.portal_page_key = found.page.key
    g.portal_resolved = found
    return pages, found.page


def _window(page: PageSpec, window_id: str) -> tuple[WindowSpec, Portlet]:
    spec = page.window(window_id)
    if spec is None:
        abort(404)
    portlet = window_portlet(spec, g.principal)
    if portlet is None:
        if spec.portlet_id in _state().portlets:
            abort(403, _("Your post may not use this portlet."))
        abort(404)
    return spec, portlet


@bp.route("/")
@login_required
def home() -> Any:
    pages, page = _page(None)
    return _render_page(pages, page)


@bp.route("/page/<page_key>")
@login_required
def page(page_key: str) -> Any:
    pages, page = _page(page_key)
    return _render_page(pages, page)


@dataclass(frozen=True)
class PagePlan:
    """What a page's windows are, derived from the layout, the user and the language only:
    which windows show, what each renders with, and what its fragment key is made of."""

    placed: tuple[tuple[WindowSpec, Portlet], ...]
    wanted: tuple[WindowRequest, ...]
    key_parts: tuple[tuple[str, tuple[str, ...]] | None, ...]
    frames: tuple[tuple[Any, ...], ...]


def _plan(state: Any, principal: Principal, page: PageSpec, locale: str,
          maximized: str | None) -> PagePlan:
    """The page's plan, kept per process. Its key holds the user's layout version (bumped by
    every change of their diff) and the identity of the loaded post layouts."""
    root = request.script_root
    plan_key = ("plan", principal, page.key, state.cache.version(diff_counter(principal.person_id)),
                state.cache.version(LAYOUTS_COUNTER), page.layout_version, id(state.layouts),
                locale, maximized, root)
    plan: PagePlan | None = state.plans.get(plan_key)
    if plan is not None:
        return plan
    placed = tuple(
        (spec, portlet) for spec in page.windows
        if (portlet := window_portlet(spec, principal, state.portlets)) is not None
        and (maximized is None or spec.id == maximized)
    )
    wanted = tuple(
        window_request(page, spec, portlet,
                       state=WindowState.MAXIMIZED if maximized else spec.state,
                       script_root=root)
        for spec, portlet in placed if spec.state is not WindowState.MINIMIZED
    )
    parts = state.cache.key_parts(
        [(r.portlet, r.mode.value, r.preferences, r.window_id) for r in wanted],
        principal, locale)
    plan = PagePlan(
        placed=placed, wanted=wanted, key_parts=tuple(parts),
        frames=tuple((s.id, s.x, s.y, s.w, s.h, s.state, s.lock_edit, s.lock_move,
                      s.lock_remove, s.own, p.id) for s, p in placed),
    )
    if len(state.plans) >= 4096:
        state.plans.clear()
    state.plans[plan_key] = plan
    return plan


def _render_page(pages: list[PageSpec], page: PageSpec, maximized: str | None = None,
                 preview: str | None = None) -> str | bytes:
    """The page from cached pieces: frames and shell come from the per-process piece cache,
    window bodies from the aggregator (fragment cache or a fresh render).

    *preview* (the sample user's name) renders a draft post page for the layout editor: every
    window at once (its page does not exist for /w/ to load later) and no arranging tools.
    """
    principal = g.principal
    state = _state()
    locale = str(get_locale())
    plan = _plan(state, principal, page, locale, maximized)
    placed, wanted = plan.placed, plan.wanted
    keys = state.cache.keys_from_parts(plan.key_parts)
    # The whole page, when every window is a cached fragment: it is fully determined by who
    # asks, the tabs, the page, the language, the windows' places and the fragment keys (which
    # hold every version counter and the preferences), and lives until its first fragment
    # expires. Only the CSRF token differs per request.
    flashes = bool(session.get("_flashes"))
    tabs = tuple((p.key, p.title, p.title_en) for p in pages)
    page_key = None
    if preview is None and not flashes and all(k is not None for k in keys):
        page_key = (
            principal, tabs, page.key, page.version, page.layout_version, page.locked, locale,
            request.full_path, maximized, plan.frames,
            tuple(k.key for k in keys if k is not None),
        )
        hit = state.cache.pages.get(page_key)
        if hit is not None and hit[0] > time.time():
            state.aggregator.count_cache_hits(wanted)
            # Kept as UTF-8 pieces around the token: a join, where filling and encoding the
            # text again took a tenth of the request.
            return csrf_token(state.csrf_signed).encode().join(hit[1])
    # A maximized window is the page's only one, and the way to it without JavaScript: render
    # it now even if it is lazy.
    windows = state.aggregator.render(wanted, principal, locale, keys=keys,
                                      defer_lazy=maximized is None and preview is None)
    rendered = {w.window_id: w for w in windows}
    grid = []
    for spec, portlet in placed:
        out = rendered.get(spec.id)
        lazy = out is not None and out.status == "lazy"
        frame = state.pieces.get(
            # The frame shows no preferences: everything else about the window is in the key.
            ("frame", page.key, page.locked, spec.id, spec.x, spec.y, spec.w, spec.h,
             spec.state, spec.lock_edit, spec.lock_move, spec.lock_remove, portlet.id, locale,
             maximized, lazy, preview is not None),
            lambda spec=spec, portlet=portlet, lazy=lazy: render_template(
                "portal/window.html", page=page, spec=spec, portlet=portlet, lazy=lazy,
                maximized=maximized, preview=preview, **placeholders()),
        )
        grid.append(fill(frame, None, body=out.html if out is not None and not lazy else ""))
    def shell_html() -> str:
        return render_template("portal/page.html", page=page, has_windows=bool(placed),
                               maximized=maximized, preview=preview,
                               removed=[] if preview else _removed_labels(state),
                               updated=None if preview else _admin_update(page),
                               can_undo=False if preview else _can_undo(page),
                               **placeholders())

    if flashes or preview:  # a one-off message: render the shell for this request only
        shell = shell_html()
    else:
        shell_key = ("shell", principal, tabs, page.key, page.version, page.layout_version,
                     page.locked, locale, request.full_path, maximized, bool(placed))
        shell = state.pieces.get(shell_key, shell_html)
    html = fill(shell, None, grid="".join(grid))
    if page_key is not None and all(w.status in ("ok", "cached") for w in windows):
        state.cache.keep_page(page_key, html, [k for k in keys if k is not None], CSRF)
    return html.replace(CSRF, csrf_token(state.csrf_signed))


def _removed_labels(state: Any) -> list[tuple[str, str, str]]:
    """(window id, portlet title, reason) of the page's recently removed windows."""
    resolved: Resolved = g.portal_resolved
    out = []
    for r in resolved.removed:
        portlet = state.portlets.get(r.portlet_id)
        out.append((r.id, _(str(portlet.title)) if portlet is not None else r.portlet_id,
                    r.reason))
    return out


def _admin_update(page: PageSpec) -> list[str] | None:
    """What the administrator changed since the user last arranged (or noted) this page, or
    ``None`` when there is nothing to tell. Only people with their own arrangement are told:
    the others simply see the new layout."""
    if page.own or not page.version or not page.layout_version:
        return None
    diff = page_diff(db_session(), g.principal.person_id, page.key)
    base = int(diff.get("base", page.layout_version))
    if base >= page.layout_version:
        return None
    s = db_session()
    old = get_version(s, page.post, base) if base else None
    new = get_version(s, page.post, page.layout_version)
    if new is None:
        return None
    lines = describe_changes(old.document if old is not None else None, new.document)
    resolved: Resolved = g.portal_resolved
    lines += [_("Your window %(id)s no longer fits this page: find it under “Recently "
                "removed”.", id=r.id) for r in resolved.removed if r.reason == "dropped"]
    return lines


def _can_undo(page: PageSpec) -> bool:
    return bool(page.version and page_diff(db_session(), g.principal.person_id,
                                           page.key).get("undo"))


def render_preview(pages: list[PageSpec], page: PageSpec, sample_user: str) -> str:
    """A draft post page as *sample_user* (``g.principal``) would see it."""
    html = _render_page(pages, page, preview=sample_user)
    assert isinstance(html, str)  # a preview is never served from the page cache
    return html


@bp.route("/page/<page_key>/<window_id>")
@login_required
def maximized(page_key: str, window_id: str) -> Any:
    pages, page = _page(page_key)
    _window(page, window_id)
    return _render_page(pages, page, maximized=window_id)


@bp.route("/w/<page_key>/<window_id>")
@login_required
def window(page_key: str, window_id: str) -> Any:
    """One window's body: for htmx (lazy loading, retry) and for conditional GETs."""
    _pages, page = _page(page_key)
    spec, portlet = _window(page, window_id)
    mode = request.args.get("mode", "view")
    if mode == Mode.HELP:
        return render_template("portal/window_help.html", portlet=portlet)
    if mode != Mode.VIEW:
        abort(400, _("Unknown mode."))
    req = window_request(page, spec, portlet, state=WindowState.NORMAL)
    [out] = _state().aggregator.render([req], g.principal, str(get_locale()))
    if out.etag and request.if_none_match.contains(out.etag):
        return Response(status=304, headers={"ETag": f'"{out.etag}"'})
    resp = Response(out.html, mimetype="text/html")
    if out.etag:
        resp.set_etag(out.etag)
        resp.headers["Cache-Control"] = "private, no-cache"
    if out.failed:
        resp.status_code = 503 if out.status == "unavailable" else 500
        resp.headers["HX-Reswap"] = "innerHTML"
    return resp


@bp.route("/w/<page_key>/<window_id>/edit", methods=["GET", "POST"])
@login_required
def edit(page_key: str, window_id: str) -> Any:
    pages, page = _page(page_key)
    spec, portlet = _window(page, window_id)
    if Mode.EDIT not in portlet.modes or not portlet.preferences.fields:
        abort(404)
    if spec.lock_edit:
        abort(403, _("The administrator has locked the settings of this window."))
    values = portlet.preferences.merge(spec.preferences)
    errors: dict[str, str] = {}
    if request.method == "POST":
        submitted = {f.name: request.form.get(f.name, "") for f in portlet.preferences.fields
                     if f.type != "bool"}
        for f in portlet.preferences.fields:
            if f.type == "bool":
                submitted[f.name] = "on" if request.form.get(f.name) else "off"
        extra = set(request.form) - {f.name for f in portlet.preferences.fields} - {"csrf_token"}
        clean, errors = portlet.preferences.validate(
            {**submitted, **{k: request.form[k] for k in extra}})
        if not errors:
            _save(page, lambda diff: personal.set_window(page, diff, spec.id, prefs=clean))
            return redirect(url_for("pages.page", page_key=page.key) + f"#w-{spec.id}")
        values = {**values, **{k: v for k, v in submitted.items()}}
    status = 400 if errors else 200
    return render_template("portal/window_edit.html", pages=pages, page=page, spec=spec,
                           portlet=portlet, values=values, errors=errors), status


@bp.route("/w/<page_key>/<window_id>/state", methods=["POST"])
@login_required
def set_state(page_key: str, window_id: str) -> Any:
    _pages, page = _page(page_key)
    spec, portlet = _window(page, window_id)
    try:
        wanted = WindowState(request.form.get("state", ""))
    except ValueError:
        abort(400, _("Unknown window state."))
    if wanted not in portlet.window_states:
        abort(400, _("This portlet cannot be shown that way."))
    if wanted is WindowState.MAXIMIZED:
        return redirect(url_for("pages.maximized", page_key=page.key, window_id=spec.id))
    _save(page, lambda diff: personal.set_window(page, diff, spec.id, state=wanted))
    return redirect(url_for("pages.page", page_key=page.key) + f"#w-{spec.id}")


def _save(page: PageSpec, change: Any) -> None:
    """Apply *change* to the user's diff of *page* and store it, or answer with the refusal."""
    s = db_session()
    try:
        diff = change(page_diff(s, g.principal.person_id, page.key))
        diff.setdefault("base", page.layout_version)
        save_diff(s, g.principal, page.key, None, diff)
        s.commit()
    except Refusal as refusal:
        s.rollback()
        abort(refusal.status, refusal.message)
    except StaleLayout:
        s.rollback()
        abort(409)
    forget_user_diffs(g.principal.person_id)
