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

from portal import audit
from portal.auth import DirectoryUnavailable, Identity
from portal.db import db_session
from portal.models import Person
from portal.passwords import verify_password
from portal.signin import person_for, sign_in, sign_out

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)
MAX_FIELD = 200


def safe_next(target: str | None) -> str:
    """Only paths on this portal; never another host, scheme or protocol-relative URL."""
    if not target:
        return url_for("pages.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return url_for("pages.home")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    next_url = request.values.get("next", "")
    if request.method == "GET":
        if g.principal is not None:
            return redirect(safe_next(next_url))
        expired = session.pop("expired", False)
        return render_template("auth/login.html", next=next_url, expired=expired)

    username = (request.form.get("username") or "").strip()
    password = request.form.get("password") or ""
    if not username or not password:
        return _refuse(_("Enter your user name and password."), username, next_url, 400)
    if len(username) > MAX_FIELD or len(password) > MAX_FIELD:
        return _refuse(_("User name or password is too long."), username, next_url, 400)

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
        audit.record(s, "login.failed", username, actor=username[:64],
                     reason="unavailable" if unavailable else "credentials")
        s.commit()
        if unavailable:
            return _refuse(_("The directory service is temporarily unavailable. "
                             "Please try again later."), username, next_url, 503)
        return _refuse(_("Wrong user name or password."), username, next_url, 401)

    person = person_for(s, identity)
    if person is None:
        verify_password(None, password)
        audit.record(s, "login.failed", username, actor=username[:64], reason="no such person")
        s.commit()
        return _refuse(_("Wrong user name or password."), username, next_url, 401)

    sign_in(s, person, identity)
    s.commit()
    return redirect(safe_next(next_url))


def _refuse(message: str, username: str, next_url: str, status: int) -> Any:
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
