"""Signing in and out with the configured backends, and choosing the language."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from portal import audit
from portal.auth import DirectoryUnavailable, Identity
from portal.db import db_session
from portal.models import Person
from portal.passwords import verify_password
from portal.security import Lockout, LoginThrottle, login_throttle
from portal.signin import person_for, sign_in, sign_out

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)
MAX_FIELD = 200


def safe_next(target: str | None) -> str:
    """Only paths on this portal; never another host, scheme or protocol-relative URL."""
    if not target:
        return url_for("pages.home")
    # Browsers drop tabs and newlines inside URLs ("/\t/evil.example" becomes
    # "//evil.example") and read "\\" as "/": refuse any of them outright.
    if any(ord(c) < 0x21 or c in "\\\x7f" for c in target):
        return url_for("pages.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("pages.home")
    return target


def _is_safe_next(target: str | None) -> bool:
    return not target or safe_next(target) == target


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    next_url = request.values.get("next", "")
    if not _is_safe_next(next_url):
        # A forged ``next`` (another host, a scheme...) is dropped, not followed, and noted.
        s = db_session()
        audit.record(s, "login.next_refused", next_url[:MAX_FIELD], actor="",
                     method=request.method)
        s.commit()
        next_url = ""
    if request.method == "GET":
        if g.principal is not None:
            return redirect(safe_next(next_url))
        expired = session.pop("expired", False)
        return render_template("auth/login.html", next=next_url, expired=expired)

    username = (request.form.get("username") or "").strip()
    password = request.form.get("password") or ""
    if not username or not password:
        return _refuse(_("Enter your user name and password."), username, next_url, 400,
                       reason="empty")
    if len(username) > MAX_FIELD or len(password) > MAX_FIELD:
        return _refuse(_("User name or password is too long."), username, next_url, 400,
                       reason="too long")
    address = request.remote_addr or ""
    throttle = login_throttle()
    attempt = throttle.check(username, address)
    if attempt.lockout is not None:
        return _locked(attempt.lockout, username, next_url, audit_action="login.locked")

    state = current_app.extensions["portal"]
    identity: Identity | None = None
    unavailable = False
    for name in state.settings["AUTH_BACKENDS"]:
        backend = state.auth_backends.get(name)
        if backend is None:
            continue
        try:
            identity = backend.authenticate(username, password)
        except DirectoryUnavailable as exc:
            log.error("sign-in backend %s unavailable: %s", name, exc)
            unavailable = True
            continue
        if identity is not None:
            break

    s = db_session()
    if identity is None:
        if unavailable:
            s.rollback()  # nothing a backend half-wrote survives
            audit.record(s, "login.failed", username[:128], actor=username[:64],
                         reason="unavailable")
            s.commit()
            return _refuse(_("The directory service is temporarily unavailable. "
                             "Please try again later."), username, next_url, 503)
        return _failed(s, throttle, username, address, next_url, "credentials")

    person = person_for(s, identity)
    if person is None:
        verify_password(None, password)
        return _failed(s, throttle, username, address, next_url, "no such person")

    throttle.succeeded(attempt)
    sign_in(s, person, identity)
    s.commit()
    return redirect(safe_next(next_url))


def _failed(s: Session, throttle: LoginThrottle, username: str, address: str, next_url: str,
            reason: str) -> Any:
    """Wrong credentials: audited, counted, and a lockout when this failure reaches a limit."""
    s.rollback()
    audit.record(s, "login.failed", username[:128], actor=username[:64], reason=reason)
    started = throttle.failed(username, address)
    if started is not None:
        audit.record(s, "login.lockout", username[:128], actor=username[:64],
                     scope=started.scope, seconds=started.seconds)
    s.commit()
    if started is not None:
        return _locked(started, username, next_url, audit_action=None)
    return _refuse(_("Wrong user name or password."), username, next_url, 401)


def _locked(lockout: Lockout, username: str, next_url: str, audit_action: str | None) -> Any:
    if audit_action:
        s = db_session()
        audit.record(s, audit_action, username[:128], actor=username[:64], scope=lockout.scope)
        s.commit()
    message = _("Too many sign-in attempts. Please try again in %(minutes)s minutes.",
                minutes=lockout.minutes)
    page, status = _refuse(message, username, next_url, 429)
    return page, status, {"Retry-After": str(max(lockout.seconds, 1))}


def _refuse(message: str, username: str, next_url: str, status: int, *,
            reason: str | None = None) -> tuple[str, int]:
    """The form again with *message*; audited as ``login.refused`` when *reason* is given."""
    if reason is not None:
        s = db_session()
        audit.record(s, "login.refused", username[:128], actor=username[:64], reason=reason)
        s.commit()
    return render_template("auth/login.html", error=message, username=username[:MAX_FIELD],
                           next=next_url), status


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    s = db_session()
    sign_out(s, g.principal)
    s.commit()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/locale", methods=["POST"])
def set_locale() -> Any:
    wanted = request.form.get("locale", "")
    if wanted not in current_app.extensions["portal"].settings["LOCALES"]:
        return _("Unknown language."), 400
    session["locale"] = wanted
    principal = g.principal
    if principal is not None:
        s = db_session()
        person = s.get(Person, principal.person_id)
        if person is not None:
            person.locale = wanted
            s.commit()
    return redirect(safe_next(request.form.get("next") or (request.referrer and
                              urlsplit(request.referrer).path)))
