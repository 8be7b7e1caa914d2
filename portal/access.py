"""Access checks for views: signed in, holding a role."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, g, redirect, request, url_for

from portal.auth import Principal

F = TypeVar("F", bound=Callable[..., Any])


def current_principal() -> Principal | None:
    return g.get("principal")


def login_required(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("principal") is None:
            if request.headers.get("HX-Request"):
                abort(401)
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def role_required(role: str) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if role not in g.principal.roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator
