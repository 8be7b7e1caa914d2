"""The calendar pages, mounted at ``/calendar/``: a month grid and the iCalendar export."""

from __future__ import annotations

import calendar as cal
from datetime import date, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, abort, render_template, request

from portal.toolkit import (
    CalendarEvent,
    Principal,
    calendar_events,
    current_principal,
    gettext,
    login_required,
)
from portlets.calendar import ics

bp = Blueprint("calendar", __name__, url_prefix="/calendar", template_folder="templates")
EXPORT_PAST_DAYS = 31
EXPORT_FUTURE_DAYS = 366


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
    return render_template("calendar/month.html", weeks=weeks, days=days, first=first,
                           today=today, prev_month=prev_month, next_month=next_month)


@bp.route("/ics")
@login_required
def export() -> Response:
    """Everything from a month ago to a year ahead, as one text/calendar document."""
    now = datetime.now()
    events = calendar_events(_me(), now - timedelta(days=EXPORT_PAST_DAYS),
                             now + timedelta(days=EXPORT_FUTURE_DAYS), limit=5000)
    body = ics.calendar(events, domain=request.host.split(":")[0] or "portal",
                        base_url=request.host_url, name=gettext("My calendar"))
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": "attachment; filename=portal-calendar.ics",
        "Cache-Control": "private, no-store"})
