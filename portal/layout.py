"""Post layouts (``layouts/*.yaml``) and the pages a user sees.

A post layout gives each post its pages (tabs) and their windows; a user's own changes are a
diff stored in ``user_layout`` and applied on top. This module resolves the two into the pages
one request renders.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from portal.auth import Principal
from portal.layout_check import GRID_COLUMNS, Problem, check_text
from portal.portlet import Portlet, WindowState

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class WindowSpec:
    id: str
    portlet_id: str
    x: int
    y: int
    w: int
    h: int
    preferences: Mapping[str, Any] = field(default_factory=dict)
    state: WindowState = WindowState.NORMAL
    lock_move: bool = False
    lock_remove: bool = False
    lock_edit: bool = False


@dataclass(frozen=True)
class PageSpec:
    key: str  # "<post>.<page id>", unique across posts
    post: str
    title: str
    title_en: str
    windows: tuple[WindowSpec, ...]
    locked: bool = False

    def window(self, window_id: str) -> WindowSpec | None:
        return next((w for w in self.windows if w.id == window_id), None)


@dataclass(frozen=True)
class PostLayout:
    post: str
    title: str
    pages: tuple[PageSpec, ...]
    source: str = ""


class LayoutError(ValueError):
    pass


def _parse(post: str, data: Mapping[str, Any], source: str) -> PostLayout:
    pages = []
    for p in data.get("pages") or []:
        windows = []
        for w in p.get("windows") or []:
            lock = w.get("lock") or {}
            if lock is True:
                lock = {"move": True, "remove": True, "edit": True}
            windows.append(WindowSpec(
                id=str(w["id"]), portlet_id=str(w["portlet"]),
                x=int(w.get("x", 0)), y=int(w.get("y", 0)),
                w=int(w.get("w", 4)), h=int(w.get("h", 3)),
                preferences=dict(w.get("preferences") or {}),
                state=WindowState(w.get("state", "normal")),
                lock_move=bool(lock.get("move")), lock_remove=bool(lock.get("remove")),
                lock_edit=bool(lock.get("edit")),
            ))
        pages.append(PageSpec(
            key=f"{post}.{p['id']}", post=post, title=str(p.get("title", p["id"])),
            title_en=str(p.get("title_en", p.get("title", p["id"]))),
            windows=tuple(windows), locked=bool(p.get("locked", False)),
        ))
    return PostLayout(post=post, title=str(data.get("title", post)), pages=tuple(pages),
                      source=source)


def load_layouts(
    folder: str | Path,
    portlets: Mapping[str, Portlet] | None = None,
    previous: Mapping[str, PostLayout] | None = None,
) -> tuple[dict[str, PostLayout], list[Problem]]:
    """Read and check every ``*.yaml`` in *folder*.

    A file with problems is not used: its post keeps the layout it had in *previous* (the last
    good version), and each problem is logged with file and line and returned.
    """
    layouts: dict[str, PostLayout] = {}
    problems: list[Problem] = []
    path = Path(folder)
    if not path.is_dir():
        return layouts, problems
    by_source = {layout.source: post for post, layout in (previous or {}).items()}
    for file in sorted(path.glob("*.yaml")):
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            found = [Problem(str(file), 1, f"cannot be read: {exc}")]
        else:
            found = check_text(text, str(file), portlets)
        if found:
            problems += found
            for problem in found:
                log.error("layout %s", problem)
            kept = by_source.get(str(file))
            if kept is not None and previous is not None:
                layouts[kept] = previous[kept]
                log.error("layout %s: keeping its last good version", file)
            continue
        data = yaml.safe_load(text)
        post = str(data["post"])
        layouts[post] = _parse(post, data, str(file))
    return layouts, problems


def default_page(post: str, portlets: Mapping[str, Portlet], principal: Principal) -> PageSpec:
    """A page with every portlet the user may add, for posts that have no layout file."""
    windows, x, y, row_h = [], 0, 0, 0
    for portlet in sorted(portlets.values(), key=lambda p: (p.category, p.id)):
        if not portlet.allowed_for(principal):
            continue
        size = portlet.default_size
        if x + size.w > GRID_COLUMNS:
            x, y, row_h = 0, y + row_h, 0
        windows.append(WindowSpec(id=portlet.id, portlet_id=portlet.id, x=x, y=y, w=size.w,
                                  h=size.h))
        x, row_h = x + size.w, max(row_h, size.h)
    return PageSpec(key=f"{post}.home", post=post, title="我的首页", title_en="My home",
                    windows=tuple(windows))


def apply_user_diff(page: PageSpec, diff: Mapping[str, Any] | None) -> PageSpec:
    """Apply the user's own changes (preferences and window states) to a post page."""
    if not diff:
        return page
    changes: Mapping[str, Any] = diff.get("windows") or {}
    windows = []
    for w in page.windows:
        change = changes.get(w.id) or {}
        if change.get("prefs") and not w.lock_edit:
            w = replace(w, preferences={**w.preferences, **change["prefs"]})
        if change.get("state"):
            w = replace(w, state=WindowState(change["state"]))
        windows.append(w)
    return replace(page, windows=tuple(windows))
