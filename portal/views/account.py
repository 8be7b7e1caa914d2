"""The signed-in person's own account pages: their active sessions, "sign out elsewhere"."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext

from portal.access import login_required
from portal.db import db_session
from portal.sessions import session_interface
from portal.signin import sign_out_elsewhere

bp = Blueprint("account", __name__, url_prefix="/account")
HANDLE_LENGTH = 24


@bp.get("/sessions")
@login_required
def sessions() -> Any:
    rows = session_interface().describe(g.principal.person_id,
                                        session.sid)  # type: ignore[attr-defined]
    return render_template("account/sessions.html", sessions=rows,
                           when=lambda ts: datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M"))


@bp.post("/sessions/others")
@login_required
def end_others() -> Any:
    _end(None)
    return redirect(url_for("account.sessions"))


@bp.post("/sessions/<handle>/end")
@login_required
def end_one(handle: str) -> Any:
    if len(handle) != HANDLE_LENGTH or not handle.isalnum():
        abort(404)
    if _end(handle) == 0:
        abort(404, _("This session has already ended."))
    return redirect(url_for("account.sessions"))


def _end(handle: str | None) -> int:
    s = db_session()
    count = sign_out_elsewhere(s, g.principal, handle)
    s.commit()
    if count:
        flash(ngettext("%(num)d other session was signed out.",
                       "%(num)d other sessions were signed out.", count), "info")
    elif handle is None:
        flash(_("There are no other sessions."), "info")
    return count
