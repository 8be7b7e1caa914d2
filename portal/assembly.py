"""Putting a page together from pieces rendered once: window frames and the page shell.

A window's frame (title bar, tool buttons, forms) and the page around the grid depend on the
layout, the language and the user, not on the portlet's content. Jinja renders each variant once
per process with placeholders for what changes on every request (the CSRF token, the window
bodies, the grid), and later requests fill them in with ``str.replace``. On a warm cache a
homepage is then a handful of cache reads and string joins, with no template rendering at all.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from flask import g, session
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

CSRF = "\x00csrf\x00"
BODY = "\x00body\x00"
GRID = "\x00grid\x00"


class PieceCache:
    """A bounded per-process map of rendered pieces; cleared whole when full (pieces are cheap
    to render again, and a clear keeps the bound without bookkeeping on the hot path)."""

    def __init__(self, maxsize: int = 8192) -> None:
        self.maxsize = maxsize
        self.pieces: dict[Hashable, str] = {}

    def get(self, key: Hashable, render: Callable[[], str]) -> str:
        piece = self.pieces.get(key)
        if piece is None:
            if len(self.pieces) >= self.maxsize:
                self.pieces.clear()
            piece = self.pieces[key] = render()
        return piece


def placeholders() -> dict[str, object]:
    """Template variables that make Jinja emit the placeholders instead of real values."""
    return {"csrf_token": lambda: Markup(CSRF), "body": Markup(BODY), "grid": Markup(GRID)}


def fill(piece: str, csrf: str | None, **parts: str) -> str:
    """Put the request's CSRF token (unless ``None``: filled later) and the named parts
    (``body``, ``grid``) into *piece*."""
    out = piece if csrf is None else piece.replace(CSRF, csrf)
    for name, value in parts.items():
        out = out.replace(f"\x00{name}\x00", value)
    return out


def csrf_token(signed: dict[str, str]) -> str:
    """The request's CSRF token, signed once per session's raw token and process.

    Flask-WTF signs the session's raw token again on every request (with a timestamp); the
    portal sets no time limit on tokens (``WTF_CSRF_TIME_LIMIT = None``), so one signature per
    raw token serves every page of that session. *signed* is the app's memo.
    """
    raw = session.get("csrf_token")
    token = signed.get(raw) if raw else None
    if token is None:
        token = generate_csrf()
        raw = session.get("csrf_token")
        if raw:
            if len(signed) >= 20_000:
                signed.clear()
            signed[raw] = token
    g.csrf_token = token  # what Flask-WTF's own generate_csrf() returns later in the request
    return token
