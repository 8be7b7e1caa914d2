"""The calendar pages, mounted at ``/calendar/``: a month grid and the iCalendar export."""

from __future__ import annotations

import calendar as cal
from datetime import date, datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from portal.toolkit import (
    CalendarEvent,
    Principal,
    audit,
    calendar_events,
    current_principal,
    db_session,
    gettext,
    login_required,
    principal_for,
)
from portlets.calendar import feeds, ics

bp = Blueprint("calendar", __name__, url_prefix="/calendar", template_folder="templates")
EXPORT_PAST_DAYS = 31
EXPORT_FUTURE_DAYS = 366
#: Where the freshly made subscription URL waits, in the server-side session, to be shown once.
NEW_FEED_KEY = "calendar_feed_token"


def _me() -> Principal:
    principal = current_principal()
    assert principal is not None
    return principal


def by_day(events: list[CalendarEvent], first: date, days: int) -> dict[date, list[CalendarEvent]]:
    """Each day of [first, first + days) with the events touching it (several days for a
    trip)."""
    out: dict[date, list[CalendarEvent]] = {first + timedelta(days=i): [] for i in range(days)}
    for e in events:
        last = (e.end - timedelta(seconds=1)).date() if e.end > e.start else e.start.date()
        day = max(e.start.date(), first)
        while day <= last and day in out:
            out[day].append(e)
            day += timedelta(days=1)
    return out


@bp.route("/")
@login_required
def month() -> Any:
    raw = request.args.get("month", "")
    today = date.today()
    try:
        first = date.fromisoformat(raw + "-01") if raw else today.replace(day=1)
    except ValueError:
        abort(400, gettext("The month must look like 2026-12."))
    weeks = cal.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    start = datetime.combine(weeks[0][0], datetime.min.time())
    end = datetime.combine(weeks[-1][-1] + timedelta(days=1), datetime.min.time())
    events = calendar_events(_me(), start, end)
    days = by_day(events, weeks[0][0], (end - start).days)
    prev_month = (first - timedelta(days=1)).replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    token = session.pop(NEW_FEED_KEY, None)
    return render_template("calendar/month.html", weeks=weeks, days=days, first=first,
                           today=today, prev_month=prev_month, next_month=next_month,
                           feed=feeds.current(db_session(), _me().person_id),
                           feed_url=url_for("calendar.feed", token=token, _external=True)
                           if token else None)


def _ics(principal: Principal, filename: str | None) -> Response:
    """Everything from a month ago to a year ahead, as one text/calendar document."""
    now = datetime.now()
    events = calendar_events(principal, now - timedelta(days=EXPORT_PAST_DAYS),
                             now + timedelta(days=EXPORT_FUTURE_DAYS), limit=5000)
    body = ics.calendar(events, domain=request.host.split(":")[0] or "portal",
                        base_url=request.host_url, name=gettext("My calendar"))
    headers = {"Cache-Control": "private, no-store"}
    if filename:
        headers["Content-Disposition"] = f"attachment; filename={filename}"
    return Response(body, mimetype="text/calendar", headers=headers)


@bp.route("/ics")
@login_required
def export() -> Response:
    """The signed-in person's calendar, downloaded as a file."""
    return _ics(_me(), "portal-calendar.ics")


@bp.route("/ics/<token>.ics")
def feed(token: str) -> Response:
    """A subscription fetched by a calendar application: no session, the token is the key.
    An unknown or revoked token (or a deactivated person) is a 404 that says what to do."""
    s = db_session()
    person = feeds.person_for_token(s, token)
    if person is None:
        abort(404, gettext("This calendar subscription address is not valid: it was revoked "
                           "or replaced. Make a new one on the calendar page."))
    response = _ics(principal_for(s, person, auth_method="calendar-feed"), None)
    s.commit()  # the time of use
    return response


@bp.route("/subscription", methods=["POST"])
@login_required
def subscription() -> Any:
    """Make (or replace) the personal subscription address, or revoke it."""
    s = db_session()
    me = _me()
    action = request.form.get("action", "")
    if action == "create":
        session[NEW_FEED_KEY] = feeds.create(s, me.person_id)
        audit(s, "calendar.feed.create", f"person:{me.person_id}")
        s.commit()
        flash(gettext("A new subscription address was made; any earlier one no longer works."),
              "info")
    elif action == "revoke":
        if feeds.revoke(s, me.person_id):
            audit(s, "calendar.feed.revoke", f"person:{me.person_id}")
        s.commit()
        flash(gettext("The subscription address was revoked."), "info")
    else:
        abort(400, gettext("Unknown action."))
    return redirect(url_for("calendar.month") + "#subscribe")
