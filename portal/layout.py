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
    own: bool = False  # added by the user, not by the post layout


@dataclass(frozen=True)
class PageSpec:
    key: str  # "<post>.<page id>" for post pages, "u<person id>-<n>" for a user's own pages
    post: str
    title: str
    title_en: str
    windows: tuple[WindowSpec, ...]
    locked: bool = False
    layout_version: int = 0  # of the post layout (0: the file, never published)
    version: int = 0  # of the user's diff for this page (0: none yet)

    @property
    def own(self) -> bool:
        return not self.post

    def window(self, window_id: str) -> WindowSpec | None:
        return next((w for w in self.windows if w.id == window_id), None)


@dataclass(frozen=True)
class PostLayout:
    post: str
    title: str
    pages: tuple[PageSpec, ...]
    source: str = ""
    version: int = 0


class LayoutError(ValueError):
    pass


def to_document(layout: PostLayout) -> dict[str, Any]:
    """The layout as the YAML file (and a stored version) spells it: the inverse of
    ``parse_document``."""
    pages = []
    for p in layout.pages:
        windows = []
        for w in p.windows:
            item: dict[str, Any] = {"id": w.id, "portlet": w.portlet_id, "x": w.x, "y": w.y,
                                    "w": w.w, "h": w.h}
            if w.preferences:
                item["preferences"] = dict(w.preferences)
            if w.state is not WindowState.NORMAL:
                item["state"] = w.state.value
            lock = {k: True for k, on in (("move", w.lock_move), ("remove", w.lock_remove),
                                          ("edit", w.lock_edit)) if on}
            if lock:
                item["lock"] = lock
            windows.append(item)
        page: dict[str, Any] = {"id": p.key.split(".", 1)[1], "title": p.title,
                                "title_en": p.title_en}
        if p.locked:
            page["locked"] = True
        page["windows"] = windows
        pages.append(page)
    return {"post": layout.post, "title": layout.title, "pages": pages}


def dump_yaml(document: Mapping[str, Any]) -> str:
    """YAML for people: keys in layout order, Chinese as is, one window per line."""
    return yaml.safe_dump(dict(document), allow_unicode=True, sort_keys=False, width=100)


def parse_document(data: Mapping[str, Any], source: str = "", version: int = 0) -> PostLayout:
    layout = _parse(str(data["post"]), data, source)
    return replace(layout, version=version,
                   pages=tuple(replace(p, layout_version=version) for p in layout.pages))


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
