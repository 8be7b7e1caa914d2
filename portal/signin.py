"""Starting and ending a signed-in session, whatever proved who the person is.

The password form, certificate sign-in and an upstream OpenID Connect provider all end in the
same place: a person the portal knows, a fresh session id, an audit line, and the
``portal_signed_in`` hook. Keeping that in one function is what makes "rotate the id at
sign-in" and "every sign-in is audited" true for every backend, not only the first one.
"""

from __future__ import annotations

import logging

from flask import current_app, session
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import audit
from portal.auth import Identity, Principal
from portal.models import Person
from portal.people import principal_for
from portal.sessions import handle_of, session_interface

log = logging.getLogger(__name__)


def person_for(db: Session, identity: Identity) -> Person | None:
    """The active person *identity* names, or ``None``.

    A backend that has the person's row loaded in *db* hands it over in ``identity.person``
    (no query then); the user name must still match.
    """
    person = identity.person
    if person is None or person not in db or person.username != identity.username:
        person = db.scalars(select(Person).where(Person.username == identity.username)).first()
    if person is None or not person.active:
        return None
    return person


def sign_in(db: Session, person: Person, identity: Identity) -> Principal:
    """Start a new session for *person*: new id, principal stored, audited, hook called.

    The caller commits *db* (the audit line is part of its transaction).
    """
    principal = principal_for(db, person, auth_method=identity.backend)
    locale = session.get("locale")
    session.clear()
    session.regenerate()  # type: ignore[attr-defined]
    session["principal"] = principal.to_dict()
    if person.locale or locale:
        session["locale"] = person.locale or locale
    audit.record(db, "login", person.username, actor_id=person.id, actor=person.username,
                 backend=identity.backend)
    _call("portal_signed_in", principal=principal, session_id=session.sid)  # type: ignore[attr-defined]
    return principal


def sign_out(db: Session, principal: Principal | None) -> None:
    """End the current session (keeping only the chosen language) and tell the plugins.

    ``portal_signed_out`` is how single sign-out reaches relying parties; it gets the id of the
    session that ended, since a person may have other sessions that stay signed in.
    """
    ended = session.sid  # type: ignore[attr-defined]
    if principal is not None:
        audit.record(db, "logout", principal.username, actor_id=principal.person_id,
                     actor=principal.username)
    locale = session.get("locale")
    session.clear()
    session.regenerate()  # type: ignore[attr-defined]
    if locale:
        session["locale"] = locale
    if principal is not None:
        _call("portal_signed_out", principal=principal, session_id=ended)


def other_methods(next_url: str = "") -> list[tuple[str, str]]:
    """The sign-in methods plugins offer besides the password form (``portal_sign_in_methods``),
    for the sign-in page; a plugin that fails here is logged and left out."""
    def log_error(plugin: str, exc: Exception) -> None:
        log.error("plugin %s failed in portal_sign_in_methods: %s", plugin, exc, exc_info=exc)

    pm = current_app.extensions["portal"].plugins
    return [(str(label), url)
            for _name, methods in pm.call_safely("portal_sign_in_methods", log_error,
                                                  next_url=next_url or "")
            for label, url in methods]


def _call(hook: str, **kwargs: object) -> None:
    """Plugins hear about sign-in and sign-out, but one that fails never blocks either."""
    def log_error(plugin: str, exc: Exception) -> None:
        log.error("plugin %s failed in %s: %s", plugin, hook, exc, exc_info=exc)

    current_app.extensions["portal"].plugins.call_safely(hook, log_error, **kwargs)


def end_sessions_of(person_id: int, keep: str | None = None) -> list[str]:
    """End every session of the person but *keep*; ``portal_signed_out`` for each.

    Used by "sign out elsewhere" and when a person is deactivated (``portal ldap sync``).
    Returns the ended session ids. Works outside a request (needs an app context).
    """
    ended = []
    for stored in session_interface().sessions_of(person_id):
        if stored.sid == keep:
            continue
        session_interface().end(stored.sid)
        ended.append(stored.sid)
        data = stored.data.get("principal")
        if data:
            _call("portal_signed_out", principal=Principal.from_dict(data), session_id=stored.sid)
    return ended


def sign_out_elsewhere(db: Session, principal: Principal, handle: str | None = None) -> int:
    """End the signed-in person's other sessions (all of them, or the one *handle* names);
    audited. Returns how many ended. The caller commits *db*."""
    current = session.sid  # type: ignore[attr-defined]
    if handle is None:
        ended = end_sessions_of(principal.person_id, keep=current)
    else:
        ended = [s.sid for s in session_interface().sessions_of(principal.person_id)
                 if handle_of(s.sid) == handle and s.sid != current]
        for sid in ended:
            session_interface().end(sid)
            _call("portal_signed_out", principal=principal, session_id=sid)
    if ended:
        audit.record(db, "logout.elsewhere", principal.username, actor_id=principal.person_id,
                     actor=principal.username, sessions=len(ended))
    return len(ended)
