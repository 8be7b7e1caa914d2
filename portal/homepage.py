"""Which pages a user has and what each window needs to render."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from flask import current_app, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from portal.aggregator import WindowRequest
from portal.auth import Principal
from portal.layout import PageSpec, WindowSpec, default_page
from portal.layout_versions import effective_layouts
from portal.models import UserLayout
from portal.personal import Resolved, resolve
from portal.portlet import Mode, Portlet, WindowState

TABS = "@tabs"  # the user_layout row that holds the order of the user's tabs


def own_page_prefix(person_id: int) -> str:
    return f"u{person_id}-"


def arranged_pages(session: Session, principal: Principal,
                   shown: str | None = None) -> list[Resolved]:
    """Every page the user has: the pages of each post they hold (the newest published
    version, with their diff applied), then their own pages, in the order they chose.

    *shown* is the key of the page about to be rendered (``None``: the first one). Only its
    windows' version counters are read ahead; the other tabs' are never needed by this request.
    """
    state = current_app.extensions["portal"]
    portlets = state.portlets
    # One round trip for the user's diff counter, the layouts counter and the version counters
    # of the windows the aggregator will ask about (a guess from the published layouts: a
    # window the user added is read when asked for, in a round trip of its own).
    known = state.published[1] if state.published is not None else state.layouts
    posts = principal.posts or ("staff",)
    post_pages = [p for post in posts if post in known for p in known[post].pages]
    ahead = [p for p in post_pages if p.key == shown] if shown else post_pages[:1]
    state.cache.prefetch(principal, [f"v:{diff_counter(principal.person_id)}", "v:layouts"], [
        portlets[w.portlet_id] for p in ahead for w in p.windows if w.portlet_id in portlets])
    layouts = effective_layouts(session)
    pages: list[PageSpec] = []
    for post in posts:
        layout = layouts.get(post)
        if layout is not None and layout.pages:
            pages.extend(layout.pages)
        else:
            pages.append(default_page(post, portlets, principal))
    seen: set[str] = set()
    diffs = _user_diffs(session, principal.person_id)
    resolved: list[Resolved] = []
    for p in pages:
        if p.key in seen:
            continue
        seen.add(p.key)
        diff, version = diffs.get(p.key, (None, 0))
        r = resolve(p, diff, portlets, principal)
        resolved.append(Resolved(replace(r.page, version=version), r.removed, p))
    prefix = own_page_prefix(principal.person_id)
    for key, (diff, version) in sorted(diffs.items()):
        if key.startswith(prefix) and diff.get("title"):
            blank = PageSpec(key=key, post="", title=str(diff["title"]),
                             title_en=str(diff["title"]), windows=())
            r = resolve(blank, diff, portlets, principal)
            resolved.append(Resolved(replace(r.page, version=version), r.removed, blank))
    order = (diffs.get(TABS, ({}, 0))[0] or {}).get("order") or []
    if order:
        rank = {key: i for i, key in enumerate(order)}
        resolved.sort(key=lambda r: rank.get(r.page.key, len(rank)))
    return resolved


def user_pages(session: Session, principal: Principal) -> list[PageSpec]:
    return [r.page for r in arranged_pages(session, principal)]


def diff_counter(person_id: int) -> str:
    """The name of the counter that every change of the user's layout diff bumps."""
    return f"ul:{person_id}"


def _user_diffs(session: Session, person_id: int) -> dict[str, tuple[dict[str, Any], int]]:
    """The user's (diff, version) by page: this process's copy for the current version, else
    the database."""
    cache = current_app.extensions["portal"].cache
    # Keyed by the counter that every change bumps (on any node): a copy is never stale.
    key = (person_id, cache.version(diff_counter(person_id)))
    diffs = cache.user_diffs.get(key)
    if diffs is None:
        diffs = {page_key: (diff or {}, version) for page_key, diff, version in session.execute(
            select(UserLayout.page_key, UserLayout.diff, UserLayout.version).where(
                UserLayout.person_id == person_id)).all()}
        if len(cache.user_diffs) >= 10_000:
            cache.user_diffs.clear()
        cache.user_diffs[key] = diffs
    return diffs


def page_diff(session: Session, person_id: int, page_key: str) -> dict[str, Any]:
    """A copy of the user's diff for one page (empty if none), safe to change."""
    import copy

    return copy.deepcopy(dict(_user_diffs(session, person_id).get(page_key, ({}, 0))[0]))


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


class StaleLayout(Exception):
    """The page changed since the client read it (another tab, another device)."""


def save_diff(session: Session, principal: Principal, page_key: str, seen_version: int | None,
              diff: dict[str, Any]) -> int:
    """Store the user's new *diff* for *page_key*; returns its new version.

    *seen_version* is the version the client last saw (``None``: do not check, for forms
    without JavaScript that always act on the page just shown). A different version, or a
    concurrent save that wins the race, raises ``StaleLayout``; the caller rolls back.
    Commit is the caller's; then ``forget_user_diffs``.
    """
    row = session.scalars(select(UserLayout).where(
        UserLayout.person_id == principal.person_id, UserLayout.page_key == page_key)
    ).first()
    current = row.version if row is not None else 0
    if seen_version is not None and seen_version != current:
        raise StaleLayout(page_key)
    if row is None:
        row = UserLayout(person_id=principal.person_id, page_key=page_key, diff=diff)
        session.add(row)
    else:
        row.diff = diff
    try:
        session.flush()  # the version check: UPDATE ... WHERE version = <read>, or the INSERT
    except (StaleDataError, IntegrityError) as exc:
        raise StaleLayout(page_key) from exc
    return row.version


def delete_diff(session: Session, principal: Principal, page_key: str) -> bool:
    row = session.scalars(select(UserLayout).where(
        UserLayout.person_id == principal.person_id, UserLayout.page_key == page_key)
    ).first()
    if row is None:
        return False
    session.delete(row)
    return True
