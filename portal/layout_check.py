"""Checking a post layout file before it is used: every problem with its file and line.

A layout is edited by hand (or exported from the admin editor and versioned), so mistakes must
be reported the way a compiler does — ``layouts/inspector.yaml:14: window "c" overlaps "b"`` —
and a bad file must never replace the last good version of a running portal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from portal.portlet import Portlet

GRID_COLUMNS = 12
MAX_ROWS = 200
ID = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
ROOT_KEYS = {"post", "title", "pages"}
PAGE_KEYS = {"id", "title", "title_en", "locked", "windows"}
WINDOW_KEYS = {"id", "portlet", "x", "y", "w", "h", "preferences", "state", "lock"}
LOCK_KEYS = {"move", "remove", "edit"}
STATES = {"normal", "minimized"}


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class _Checker:
    def __init__(self, source: str, portlets: Mapping[str, Portlet] | None) -> None:
        self.source = source
        self.portlets = portlets
        self.problems: list[Problem] = []

    def add(self, node: yaml.Node, message: str) -> None:
        self.problems.append(Problem(self.source, node.start_mark.line + 1, message))

    def mapping(self, node: yaml.Node, what: str, allowed: set[str]) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            self.add(node, f"{what} must be a mapping")
            return {}
        items: dict[str, yaml.Node] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else "?"
            if name not in allowed:
                self.add(key, f"unknown key {name!r} in {what} "
                              f"(allowed: {', '.join(sorted(allowed))})")
            elif name in items:
                self.add(key, f"key {name!r} appears twice in {what}")
            items[name] = value
        return items

    def scalar(self, node: yaml.Node | None, what: str, kind: type, parent: yaml.Node) -> Any:
        if node is None:
            self.add(parent, f"{what} is missing")
            return None
        value = yaml.safe_load(yaml.serialize(node)) if isinstance(node, yaml.ScalarNode) \
            else None
        if kind is int and (not isinstance(value, int) or isinstance(value, bool)):
            self.add(node, f"{what} must be a whole number")
            return None
        if kind is str and not isinstance(value, str):
            self.add(node, f"{what} must be text")
            return None
        if kind is bool and not isinstance(value, bool):
            self.add(node, f"{what} must be true or false")
            return None
        return value

    def check(self, root: yaml.Node | None) -> None:
        if root is None:
            self.problems.append(Problem(self.source, 1, "the file is empty"))
            return
        top = self.mapping(root, "the layout", ROOT_KEYS)
        post = self.scalar(top.get("post"), "post", str, root)
        if post is not None and not ID.match(post):
            self.add(top["post"], f"post {post!r} must be a post code (a-z, 0-9, _)")
        if "title" in top:
            self.scalar(top["title"], "title", str, root)
        pages = top.get("pages")
        if not isinstance(pages, yaml.SequenceNode) or not pages.value:
            self.add(pages or root, "pages must be a non-empty list")
            return
        seen: set[str] = set()
        for page in pages.value:
            self.page(page, seen)

    def page(self, node: yaml.Node, seen: set[str]) -> None:
        fields = self.mapping(node, "a page", PAGE_KEYS)
        self.identifier(fields, node, "page id", seen, "")
        self.scalar(fields.get("title"), "page title", str, node)
        for key in ("title_en",):
            if key in fields:
                self.scalar(fields[key], key, str, node)
        if "locked" in fields:
            self.scalar(fields["locked"], "locked", bool, node)
        windows = fields.get("windows")
        if windows is None:
            self.add(node, "windows is missing")
            return
        if not isinstance(windows, yaml.SequenceNode):
            self.add(windows, "windows must be a list")
            return
        placed: list[tuple[str, int, int, int, int]] = []
        ids: set[str] = set()
        for window in windows.value:
            box = self.window(window, ids)
            if box is None:
                continue
            wid, x, y, w, h = box
            for other, ox, oy, ow, oh in placed:
                if x < ox + ow and ox < x + w and y < oy + oh and oy < y + h:
                    self.add(window, f"window {wid!r} overlaps window {other!r}")
            placed.append(box)

    def window(self, node: yaml.Node, ids: set[str]) -> tuple[str, int, int, int, int] | None:
        fields = self.mapping(node, "a window", WINDOW_KEYS)
        wid = self.identifier(fields, node, "window id", ids, " on this page")
        portlet_id = self.scalar(fields.get("portlet"), "portlet", str, node)
        portlet = None
        if portlet_id is not None and self.portlets is not None:
            portlet = self.portlets.get(portlet_id)
            if portlet is None:
                self.add(fields["portlet"], f"unknown portlet {portlet_id!r} (installed: "
                                            f"{', '.join(sorted(self.portlets)) or 'none'})")
        x, y, w, h = (self.scalar(fields.get(k), k, int, node) for k in ("x", "y", "w", "h"))
        if "state" in fields:
            state = self.scalar(fields["state"], "state", str, node)
            if state is not None and state not in STATES:
                self.add(fields["state"], f"state must be one of {', '.join(sorted(STATES))}")
        if "lock" in fields:
            self.lock(fields["lock"])
        if portlet is not None and "preferences" in fields:
            prefs = yaml.safe_load(yaml.serialize(fields["preferences"]))
            if not isinstance(prefs, dict):
                self.add(fields["preferences"], "preferences must be a mapping")
            else:
                _clean, errors = portlet.preferences.validate(prefs)
                for name, message in sorted(errors.items()):
                    self.add(fields["preferences"], f"preference {name!r}: {message}")
        if None in (wid, x, y, w, h):
            return None
        assert isinstance(wid, str) and isinstance(x, int) and isinstance(y, int)
        assert isinstance(w, int) and isinstance(h, int)
        if x < 0 or y < 0 or w < 1 or h < 1:
            self.add(node, f"window {wid!r}: x and y must be ≥ 0, w and h ≥ 1")
            return None
        if x + w > GRID_COLUMNS or y + h > MAX_ROWS:
            self.add(node, f"window {wid!r} is off the grid: x + w = {x + w} > {GRID_COLUMNS}"
                     if x + w > GRID_COLUMNS else f"window {wid!r} is below row {MAX_ROWS}")
        if portlet is not None:
            lo, hi = portlet.min_size, portlet.max_size
            if not (lo.w <= w <= hi.w and lo.h <= h <= hi.h):
                self.add(node, f"window {wid!r}: size {w}×{h} is outside what portlet "
                               f"{portlet.id!r} allows ({lo.w}×{lo.h} to {hi.w}×{hi.h})")
        return wid, x, y, w, h

    def identifier(self, fields: dict[str, yaml.Node], node: yaml.Node, what: str,
                   seen: set[str], where: str) -> str | None:
        """An ``id`` that is well formed and unique among *seen* (which it joins)."""
        value = self.scalar(fields.get("id"), what, str, node)
        if value is not None:
            if not ID.match(value):
                self.add(fields["id"], f"{what} {value!r} must be a-z, 0-9, _ or -")
            if value in seen:
                self.add(fields["id"], f"{what} {value!r} is used twice{where}")
            seen.add(value)
        return value if isinstance(value, str) else None

    def lock(self, node: yaml.Node) -> None:
        if isinstance(node, yaml.ScalarNode):
            self.scalar(node, "lock", bool, node)
            return
        for key, value in self.mapping(node, "lock", LOCK_KEYS).items():
            self.scalar(value, f"lock.{key}", bool, node)


def check_text(text: str, source: str,
               portlets: Mapping[str, Portlet] | None = None) -> list[Problem]:
    """Every problem of the layout in *text*; an empty list means it can be used."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc)
        return [Problem(source, line, f"not valid YAML: {reason}")]
    checker = _Checker(source, portlets)
    checker.check(root)
    return checker.problems
