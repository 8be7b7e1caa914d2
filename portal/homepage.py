"""Which pages a user has and what each window needs to render."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.aggregator import WindowRequest
from portal.auth import Principal
from portal.layout import PageSpec, WindowSpec, apply_user_diff, default_page
from portal.models import UserLayout
from portal.portlet import Mode, Portlet, WindowState


def user_pages(session: Session, principal: Principal) -> list[PageSpec]:
    """The post pages of every post the user holds, each with the user's diff applied."""
    state = current_app.extensions["portal"]
    pages: list[PageSpec] = []
    for post in principal.posts or ("staff",):
        layout = state.layouts.get(post)
        if layout is not None and layout.pages:
            pages.extend(layout.pages)
        else:
            pages.append(default_page(post, state.portlets, principal))
    seen: set[str] = set()
    unique = []
    for p in pages:
        if p.key not in seen:
            seen.add(p.key)
            unique.append(p)
    # One round trip for the user's diffs and the version counters of every window the
    # aggregator will ask about (windows a diff hides cost a counter read, not a round trip).
    portlets = state.portlets
    state.cache.prefetch(principal, [f"v:{diff_counter(principal.person_id)}"], [
        portlets[w.portlet_id] for p in unique for w in p.windows if w.portlet_id in portlets])
    diffs = _user_diffs(session, principal.person_id)
    return [apply_user_diff(p, diffs.get(p.key)) for p in unique]


def diff_counter(person_id: int) -> str:
    """The name of the counter that every change of the user's layout diff bumps."""
    return f"ul:{person_id}"


def _user_diffs(session: Session, person_id: int) -> dict[str, Any]:
    """The user's diffs by page: this process's copy for the current version, else the
    database."""
    cache = current_app.extensions["portal"].cache
    # Keyed by the counter that every change bumps (on any node): a copy is never stale.
    key = (person_id, cache.version(diff_counter(person_id)))
    diffs = cache.user_diffs.get(key)
    if diffs is None:
        diffs = dict(session.execute(
            select(UserLayout.page_key, UserLayout.diff).where(
                UserLayout.person_id == person_id)).all())
        if len(cache.user_diffs) >= 10_000:
            cache.user_diffs.clear()
        cache.user_diffs[key] = diffs
    return diffs


def forget_user_diffs(person_id: int) -> None:
    """Call after committing a change to the user's diffs, so every node reads them again."""
    current_app.extensions["portal"].cache.bump(diff_counter(person_id))


def window_portlet(spec: WindowSpec, principal: Principal,
                   portlets: Mapping[str, Portlet] | None = None) -> Portlet | None:
    """The portlet behind a window, if it is installed and the user may use it."""
    if portlets is None:
        portlets = current_app.extensions["portal"].portlets
    portlet = portlets.get(spec.portlet_id)
    if portlet is None or not portlet.allowed_for(principal):
        return None
    return portlet


def window_request(page: PageSpec, spec: WindowSpec, portlet: Portlet,
                   mode: Mode = Mode.VIEW, state: WindowState | None = None,
                   script_root: str | None = None) -> WindowRequest:
    prefs = portlet.preferences.merge(spec.preferences)
    root = request.script_root if script_root is None else script_root
    return WindowRequest(
        window_id=spec.id, portlet=portlet, preferences=prefs, mode=mode,
        state=state or spec.state,
        # url_for costs more than the rest of this function; the rule is /w/<page>/<window>.
        retry_url=f"{root}/w/{page.key}/{spec.id}",
    )


def save_window_change(session: Session, principal: Principal, page: PageSpec, window_id: str,
                       change: Mapping[str, Any]) -> None:
    """Record a change to one window in the user's diff for *page* (commit is the caller's)."""
    row = session.scalars(select(UserLayout).where(
        UserLayout.person_id == principal.person_id, UserLayout.page_key == page.key)
    ).first()
    if row is None:
        row = UserLayout(person_id=principal.person_id, page_key=page.key, diff={}, version=0)
        session.add(row)
    diff: dict[str, Any] = dict(row.diff or {})
    windows: dict[str, Any] = dict(diff.get("windows") or {})
    current: dict[str, Any] = dict(windows.get(window_id) or {})
    current.update(change)
    windows[window_id] = current
    diff["windows"] = windows
    row.diff = diff
    row.version = (row.version or 0) + 1
