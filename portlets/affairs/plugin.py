"""Registration of the office-affairs plugin (综合事务): its portlet, pages, to-do items,
calendar entries, migrations, translations and demo data."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, render_template, url_for

from portal.toolkit import (
    CachePolicy,
    CalendarEvent,
    Portlet,
    Principal,
    RenderContext,
    Size,
    TodoItem,
    Variance,
    db_session,
    gettext,
    hookimpl,
    lazy_gettext,
)
from portlets.affairs import queries
from portlets.affairs.views import bp

HERE = Path(__file__).parent
#: Entries per kind in one calendar query: a year's export of a busy person fits.
CALENDAR_LIMIT = 2000
#: How far ahead the homepage window lists bookings and trips, today included.
UPCOMING_DAYS = 7


def render_portlet(ctx: RenderContext) -> str:
    s = db_session()
    # The coming seven days rather than the rest of the calendar week: on a Friday or a
    # Sunday, Monday's meeting is what the person needs to see.
    today = date.today()
    start = datetime.combine(today, datetime.min.time())
    end = start + timedelta(days=UPCOMING_DAYS)
    vehicles, trips = queries.pending_counts(s, ctx.principal)
    pending = []
    if vehicles:
        pending.append((gettext("Vehicle requests waiting for the office"),
                        url_for("affairs.vehicles"), vehicles))
    if trips:
        pending.append((gettext("Business trips waiting for my approval"),
                        url_for("affairs.trips"), trips))
    return render_template("affairs/portlet.html",
                           bookings=queries.my_bookings(s, ctx.principal, start, end, 8),
                           trips=queries.my_trips(s, ctx.principal, start, end, 3),
                           rooms=queries.room_names(s), pending=pending, today=today)


PORTLET = Portlet(
    id="affairs", title=lazy_gettext("Office affairs"),
    description=lazy_gettext("Your meeting-room bookings and trips of the coming seven "
                             "days, and requests waiting for you."),
    category="work", render=render_portlet, default_size=Size(6, 4), min_size=Size(3, 3),
    cache=CachePolicy(ttl=0, vary=Variance.USER), timeout=1.5, icon="▦")


@hookimpl
def portal_portlets() -> Iterable[Portlet]:
    return [PORTLET]


@hookimpl
def portal_blueprints() -> Iterable[Blueprint]:
    return [bp]


@hookimpl
def portal_migrations() -> str:
    return str(HERE / "migrations" / "versions")


@hookimpl
def portal_translations() -> str:
    return str(HERE / "translations")


@hookimpl
def portal_todo_items(principal: Principal) -> Iterable[TodoItem]:
    s = db_session()
    source = gettext("Office affairs")
    now = datetime.now()
    items = []
    for r in queries.vehicle_requests_for_office(s, principal):
        what = gettext("Approve vehicle request") if r.status == "pending" else \
            gettext("Dispatch a vehicle")
        items.append(TodoItem(source=source, title=f"【{what}】{r.destination} · {r.purpose}",
                              url=url_for("affairs.vehicle", request_id=r.id), due=r.start_at,
                              created=r.created_at, urgent=r.start_at < now + timedelta(hours=2)))
    for t in queries.trips_to_approve(s, principal):
        items.append(TodoItem(source=source,
                              title=f"【{gettext('Approve business trip')}】{t.destination}",
                              url=url_for("affairs.trip", trip_id=t.id), due=t.start_on,
                              created=t.created_at, urgent=t.start_on < now))
    return items


@hookimpl
def portal_calendar_events(principal: Principal, start: datetime,
                           end: datetime) -> Iterable[CalendarEvent]:
    s = db_session()
    rooms = queries.room_names(s)
    events = [CalendarEvent(title=b.title, start=b.start_at, end=b.end_at,
                            source=gettext("Meeting"), kind="meeting",
                            url=url_for("affairs.rooms", day=b.start_at.date().isoformat()),
                            uid=f"affairs-booking-{b.id}", location=rooms.get(b.room_id, ""))
              for b in queries.my_bookings(s, principal, start, end, CALENDAR_LIMIT)]
    events += [CalendarEvent(title=gettext("Business trip: %(where)s", where=t.destination),
                             start=t.start_on, end=t.end_on + timedelta(days=1), all_day=True,
                             source=gettext("Business trip"), kind="trip",
                             url=url_for("affairs.trip", trip_id=t.id), uid=f"affairs-trip-{t.id}",
                             location=t.destination)
               for t in queries.my_trips(s, principal, start, end, CALENDAR_LIMIT)]
    return events


@hookimpl
def portal_demo_data(session: Any, seed: int) -> None:
    from portlets.affairs.demo import generate

    generate(session, seed)
