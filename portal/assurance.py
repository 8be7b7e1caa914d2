"""Assurance levels: how strongly a session proved who is signed in, and what needs more.

A password proves less than a certificate from the company CA. Pages, portlets and actions
that must not be reachable with a guessed or phished password (administration, document
signing) require the ``certificate`` level; a session signed in with a password is then asked
to step up ("需要证书登录") and comes back to where it was. The core knows the levels only;
which plugin can raise a session to a level is asked through ``portal_step_up_url``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app, g, render_template, request

from portal.access import login_required, role_required
from portal.auth import Principal

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger(__name__)

#: Levels from weakest to strongest.
LEVELS: tuple[str, ...] = ("password", "certificate")
#: The level each sign-in method (``Principal.auth_method``) reaches; others are "password".
METHOD_LEVEL: dict[str, str] = {"certificate": "certificate"}


def check_level(level: str) -> str:
    """*level* itself, or ``ValueError`` naming the known ones (for settings and portlets)."""
    if level not in LEVELS:
        raise ValueError(f"unknown assurance level {level!r}; expected one of {', '.join(LEVELS)}")
    return level


def level_of(principal: Principal | None) -> str | None:
    """The level the session of *principal* reached; ``None`` when nobody is signed in."""
    if principal is None:
        return None
    return METHOD_LEVEL.get(principal.auth_method, "password")


def satisfies(principal: Principal | None, required: str) -> bool:
    """Does the session of *principal* reach *required*?"""
    reached = level_of(principal)
    return reached is not None and LEVELS.index(reached) >= LEVELS.index(check_level(required))


def step_up_url(level: str, next_url: str) -> str | None:
    """Where a signed-in person raises the session to *level*, coming back to *next_url*;
    ``None`` when no installed plugin offers that level."""
    def log_error(plugin: str, exc: Exception) -> None:
        log.error("plugin %s failed in portal_step_up_url: %s", plugin, exc, exc_info=exc)

    pm = current_app.extensions["portal"].plugins
    for _name, url in pm.call_safely("portal_step_up_url", log_error, level=level,
                                     next_url=next_url):
        return str(url)
    return None


def current_path() -> str:
    """The path and query of this request, as the ``next`` of a step-up."""
    return request.full_path.rstrip("?")


def step_up_page(level: str, next_url: str | None = None) -> Any:
    """The "certificate sign-in needed" answer (403), with the way to step up."""
    target = next_url or current_path()
    if request.headers.get("HX-Request"):
        abort(403)
    return render_template("portal/step_up.html", level=level, next=target,
                           step_up_url=step_up_url(level, target)), 403


def assurance_required(level: str) -> Callable[[F], F]:
    """Require a signed-in session of at least *level* (``"password"``, ``"certificate"``).

    Anonymous visitors go to the sign-in page as with ``login_required``; a weaker session gets
    the step-up page, whose link brings the person back to this URL.
    """
    check_level(level)

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not satisfies(g.principal, level):
                return step_up_page(level)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def admin_required(view: F) -> F:
    """An administrator, signed in at the level the ``ADMIN_ASSURANCE`` setting asks for.

    The role is checked first, so a non-admin gets a plain 403 and is never invited to step up
    for a page they could not use anyway.
    """

    @wraps(view)
    @role_required("admin")
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        level = check_level(current_app.extensions["portal"].settings["ADMIN_ASSURANCE"])
        if not satisfies(g.principal, level):
            return step_up_page(level)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]
