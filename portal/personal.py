"""The personal layer: a user's own arrangement of a page, stored as a diff, never a copy.

A diff names windows by id and says only what the user changed::

    {"base": 3,                                  # post layout version the user last saw
     "windows": {"todo": {"x": 0, "y": 4, "w": 6, "h": 4},      # moved / resized
                 "links": {"removed": true},                     # taken off the page
                 "notices": {"state": "minimized", "prefs": {"limit": 10}}},
     "added": [{"id": "my-1", "portlet": "directory", "x": 0, "y": 9, "w": 6, "h": 3}],
     "trash": [...],                             # own windows removed lately, restorable
     "undo": {...}}                              # the diff before the last reset

Because it is a diff, a post layout published again reaches everyone: ``resolve`` applies the
diff to whatever version is current, keeps what does not conflict, forces locked windows in,
drops windows the administrator removed, and never loses a window the user added — one that
cannot stay is listed as recently removed, from where it can be restored. ``resolve`` is a pure
function of (page, diff, portlets): cheap enough to run on every request, and the same on
every node.

The mutating functions take a diff and return a new one, or raise ``Refusal`` with the HTTP
status and a message for the user; nothing is stored until the caller commits.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from flask_babel import gettext as _

from portal.auth import Principal
from portal.layout import PageSpec, WindowSpec
from portal.layout_check import GRID_COLUMNS, MAX_ROWS
from portal.portlet import Portlet, WindowState

TRASH_SIZE = 10
MAX_OWN_WINDOWS = 30
Box = tuple[int, int, int, int]


class Refusal(Exception):
    """A change the portal will not make; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class RemovedWindow:
    """A window the user can bring back: one they removed, or one of theirs a new post
    layout had no room for (``reason`` says which)."""

    id: str
    portlet_id: str
    reason: str  # "removed" | "dropped"


@dataclass(frozen=True)
class Resolved:
    page: PageSpec  # as the user arranged it
    removed: tuple[RemovedWindow, ...]
    base: PageSpec | None = None  # the page before the user's diff (to apply a new one)


def _overlap(a: Box, b: Box) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def _box(w: WindowSpec) -> Box:
    return (w.x, w.y, w.w, w.h)


def first_free(boxes: Iterable[Box], w: int, h: int, near: tuple[int, int] = (0, 0)) -> Box:
    """The first place for a *w*×*h* window that overlaps none of *boxes*, scanning rows from
    the row of *near* (at its column first), top to bottom, left to right."""
    taken = list(boxes)
    w = min(w, GRID_COLUMNS)
    x0, y0 = near
    for y in range(max(y0, 0), MAX_ROWS):
        xs = [x0] if 0 <= x0 <= GRID_COLUMNS - w else []
        for x in xs + [x for x in range(GRID_COLUMNS - w + 1) if x != x0]:
            box = (x, y, w, h)
            if not any(_overlap(box, t) for t in taken):
                return box
    return (0, MAX_ROWS, w, h)


def _settle(windows: Sequence[WindowSpec]) -> list[WindowSpec]:
    """Make the windows overlap-free without moving locked ones: each other window keeps its
    place if free, else goes down its column to the first free place. Layout order is kept."""
    placed: list[Box] = [_box(w) for w in windows if w.lock_move]
    settled: dict[str, WindowSpec] = {}
    for w in sorted((w for w in windows if not w.lock_move), key=lambda w: (w.y, w.x)):
        box = _box(w)
        if any(_overlap(box, t) for t in placed):
            box = first_free(placed, w.w, w.h, near=(w.x, w.y))
            w = replace(w, x=box[0], y=box[1])
        placed.append(box)
        settled[w.id] = w
    return [w if w.lock_move else settled[w.id] for w in windows]


def _clamp_size(w: int, h: int, portlet: Portlet) -> tuple[int, int]:
    lo, hi = portlet.min_size, portlet.max_size
    return max(lo.w, min(hi.w, w)), max(lo.h, min(hi.h, h))


def resolve(page: PageSpec, diff: Mapping[str, Any] | None,
            portlets: Mapping[str, Portlet], principal: Principal) -> Resolved:
    """*page* as the user arranged it; see the module docstring for the rules."""
    if not diff:
        return Resolved(page, (), page)
    changes: Mapping[str, Any] = diff.get("windows") or {}
    windows: list[WindowSpec] = []
    removed: list[RemovedWindow] = []
    for w in page.windows:
        change = changes.get(w.id) or {}
        if change.get("removed") and not w.lock_remove and not page.locked:
            removed.append(RemovedWindow(w.id, w.portlet_id, "removed"))
            continue
        windows.append(_changed(w, change, page.locked, portlets))
    for own in diff.get("added") or ():
        portlet = portlets.get(str(own.get("portlet")))
        if page.locked or portlet is None or not portlet.allowed_for(principal):
            removed.append(RemovedWindow(str(own["id"]), str(own.get("portlet")), "dropped"))
            continue
        width, height = _clamp_size(int(own.get("w", 4)), int(own.get("h", 3)), portlet)
        spec = WindowSpec(id=str(own["id"]), portlet_id=portlet.id, x=int(own.get("x", 0)),
                          y=int(own.get("y", 0)), w=width, h=height,
                          preferences=dict(own.get("prefs") or {}), own=True,
                          state=WindowState(own.get("state", "normal")))
        windows.append(replace(spec, x=min(spec.x, GRID_COLUMNS - spec.w)))
    for own in diff.get("trash") or ():
        removed.append(RemovedWindow(str(own["id"]), str(own.get("portlet")), "removed"))
    return Resolved(replace(page, windows=tuple(_settle(windows))), tuple(removed), page)


def _changed(w: WindowSpec, change: Mapping[str, Any], page_locked: bool,
             portlets: Mapping[str, Portlet]) -> WindowSpec:
    if not change:
        return w
    if not w.lock_move and not page_locked and all(k in change for k in "xywh"):
        width, height = int(change["w"]), int(change["h"])
        portlet = portlets.get(w.portlet_id)
        if portlet is not None:
            width, height = _clamp_size(width, height, portlet)
        x = max(0, min(int(change["x"]), GRID_COLUMNS - width))
        w = replace(w, x=x, y=max(0, int(change["y"])), w=width, h=height)
    if change.get("prefs") and not w.lock_edit:
        w = replace(w, preferences={**w.preferences, **change["prefs"]})
    if change.get("state") in ("normal", "minimized"):
        w = replace(w, state=WindowState(change["state"]))
    return w


# --- Changes -----------------------------------------------------------------------------

def _copy(diff: Mapping[str, Any] | None) -> dict[str, Any]:
    return copy.deepcopy(dict(diff or {}))


def _window(page: PageSpec, window_id: str) -> WindowSpec:
    spec = page.window(window_id)
    if spec is None:
        raise Refusal(404, _("There is no window %(id)s on this page.", id=window_id))
    return spec


def _own(diff: dict[str, Any], window_id: str) -> dict[str, Any] | None:
    return next((o for o in diff.get("added") or [] if o.get("id") == window_id), None)


def move(page: PageSpec, diff: Mapping[str, Any] | None, boxes: Sequence[Mapping[str, Any]],
         portlets: Mapping[str, Portlet]) -> dict[str, Any]:
    """New places for some windows of the resolved *page* (a drag may push others along, so
    the client sends every window it moved). Checks the whole resulting page."""
    if not isinstance(boxes, Sequence) or not boxes:
        raise Refusal(400, _("No window positions were sent."))
    wanted: dict[str, Box] = {}
    for item in boxes:
        try:
            wid = str(item["id"])
            box = tuple(int(item[k]) for k in ("x", "y", "w", "h"))
        except (KeyError, TypeError, ValueError):
            raise Refusal(400, _("Each position needs id, x, y, w and h as whole numbers.")) \
                from None
        spec = _window(page, wid)
        x, y, w, h = box
        if x < 0 or y < 0 or w < 1 or h < 1 or x + w > GRID_COLUMNS or y + h > MAX_ROWS:
            raise Refusal(400, _("Window %(id)s would be off the grid.", id=wid))
        portlet = portlets.get(spec.portlet_id)
        if portlet is not None:
            lo, hi = portlet.min_size, portlet.max_size
            if not (lo.w <= w <= hi.w and lo.h <= h <= hi.h):
                raise Refusal(400, _(
                    "Window %(id)s cannot be %(w)d×%(h)d: this portlet allows %(lw)d×%(lh)d "
                    "to %(hw)d×%(hh)d.", id=wid, w=w, h=h, lw=lo.w, lh=lo.h, hw=hi.w,
                    hh=hi.h))
        if box != _box(spec) and (spec.lock_move or page.locked):
            raise Refusal(403, _("The administrator has locked the place of window "
                                 "%(id)s.", id=wid))
        wanted[wid] = box  # type: ignore[assignment]
    final = {w.id: wanted.get(w.id, _box(w)) for w in page.windows}
    ids = list(final)
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            if _overlap(final[a], final[b]):
                raise Refusal(400, _("Window %(a)s would overlap window %(b)s.", a=a, b=b))
    new = _copy(diff)
    changes = new.setdefault("windows", {})
    for wid, (x, y, w, h) in wanted.items():
        own = _own(new, wid)
        if own is not None:
            own.update(x=x, y=y, w=w, h=h)
        else:
            changes.setdefault(wid, {}).update(x=x, y=y, w=w, h=h)
    return new


def add(page: PageSpec, diff: Mapping[str, Any] | None, portlet_id: str,
        portlets: Mapping[str, Portlet], principal: Principal) -> tuple[dict[str, Any], str]:
    """Put a new window of *portlet_id* on the first free place; returns (diff, window id)."""
    portlet = portlets.get(portlet_id)
    if portlet is None:
        raise Refusal(400, _("There is no portlet %(id)s.", id=portlet_id))
    if not portlet.allowed_for(principal):
        raise Refusal(403, _("Your post may not use this portlet."))
    if page.locked:
        raise Refusal(403, _("The administrator has locked this page."))
    new = _copy(diff)
    added = new.setdefault("added", [])
    if len(added) >= MAX_OWN_WINDOWS:
        raise Refusal(400, _("A page holds at most %(n)d windows of your own.",
                             n=MAX_OWN_WINDOWS))
    taken = {w.id for w in page.windows} | {str(o["id"]) for o in added} | \
        {str(o["id"]) for o in new.get("trash") or ()}
    n = 1
    while f"my-{n}" in taken:
        n += 1
    size = portlet.default_size
    x, y, w, h = first_free((_box(w) for w in page.windows), size.w, size.h)
    added.append({"id": f"my-{n}", "portlet": portlet.id, "x": x, "y": y, "w": w, "h": h})
    return new, f"my-{n}"


def remove(page: PageSpec, diff: Mapping[str, Any] | None, window_id: str) -> dict[str, Any]:
    spec = _window(page, window_id)
    if spec.lock_remove or page.locked:
        raise Refusal(403, _("The administrator has locked window %(id)s on this page.",
                             id=window_id))
    new = _copy(diff)
    own = _own(new, window_id)
    if own is not None:
        new["added"].remove(own)
        trash = [own] + [t for t in new.get("trash") or [] if t.get("id") != window_id]
        new["trash"] = trash[:TRASH_SIZE]
    else:
        new.setdefault("windows", {}).setdefault(window_id, {})["removed"] = True
    return new


def restore(page: PageSpec, diff: Mapping[str, Any] | None, window_id: str,
            removed: Sequence[RemovedWindow]) -> dict[str, Any]:
    """Bring back a window from the recently-removed list, where there is room for it."""
    entry = next((r for r in removed if r.id == window_id), None)
    if entry is None:
        raise Refusal(404, _("Window %(id)s is not among the recently removed.", id=window_id))
    if entry.reason == "dropped":
        raise Refusal(403, _("This page no longer allows this portlet."))
    new = _copy(diff)
    change = (new.get("windows") or {}).get(window_id)
    if change is not None and change.get("removed"):
        del change["removed"]
        return new
    trash = new.get("trash") or []
    own = next((t for t in trash if t.get("id") == window_id), None)
    if own is None:
        raise Refusal(404, _("Window %(id)s is not among the recently removed.", id=window_id))
    trash.remove(own)
    box = first_free((_box(w) for w in page.windows), int(own.get("w", 4)),
                     int(own.get("h", 3)), near=(int(own.get("x", 0)), int(own.get("y", 0))))
    own.update(x=box[0], y=box[1])
    new.setdefault("added", []).append(own)
    return new


def set_window(page: PageSpec, diff: Mapping[str, Any] | None, window_id: str, *,
               state: WindowState | None = None,
               prefs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Minimize / restore a window, or keep its preferences (already validated)."""
    spec = _window(page, window_id)
    if prefs is not None and spec.lock_edit:
        raise Refusal(403, _("The administrator has locked the settings of this window."))
    if state is WindowState.MAXIMIZED:
        raise Refusal(400, _("Maximizing is a view, not a change of the layout."))
    new = _copy(diff)
    target = _own(new, window_id)
    if target is None:
        target = new.setdefault("windows", {}).setdefault(window_id, {})
    if state is not None:
        target["state"] = state.value
    if prefs is not None:
        target["prefs"] = dict(prefs)
    return new


def reset(diff: Mapping[str, Any] | None) -> dict[str, Any]:
    """Back to the post's layout, keeping what was there for one undo."""
    old = _copy(diff)
    old.pop("undo", None)
    if not old.get("windows") and not old.get("added"):
        raise Refusal(409, _("This page already shows the post's layout."))
    new: dict[str, Any] = {"undo": old}
    if "base" in old:
        new["base"] = old["base"]
    return new


def undo(diff: Mapping[str, Any] | None) -> dict[str, Any]:
    previous = (diff or {}).get("undo")
    if not previous:
        raise Refusal(409, _("There is nothing to undo."))
    return _copy(previous)


def valid_page_title(title: str) -> str:
    title = (title or "").strip()
    if not title or len(title) > 40:
        raise Refusal(400, _("A page title has 1 to 40 characters."))
    return title

