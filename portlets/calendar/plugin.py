"""Registration of the calendar plugin (日程): the week agenda portlet and the calendar pages.
It owns no events: every plugin contributes its own through ``portal_calendar_events``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path

from flask import Blueprint, render_template

from portal.toolkit import (
    CachePolicy,
    Portlet,
    RenderContext,
    Size,
    Variance,
    calendar_events,
    hookimpl,
    lazy_gettext,
)
from portlets.calendar.views import bp, by_day

HERE = Path(__file__).parent


def render_week(ctx: RenderContext) -> str:
    today = date.today()
    monday = today - timedelta(days=today.weekday())
    start = datetime.combine(monday, datetime.min.time())
    events = calendar_events(ctx.principal, start, start + timedelta(days=7))
    return render_template("calendar/week.html", days=by_day(events, monday, 7), today=today)


PORTLET = Portlet(
    id="calendar_week", title=lazy_gettext("This week"),
    description=lazy_gettext("Meetings, deadlines, trips and leave of this week, from every "
                             "application."),
    category="work", render=render_week, default_size=Size(6, 5), min_size=Size(4, 3),
    cache=CachePolicy(ttl=0, vary=Variance.USER), timeout=2.0, icon="▥")


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
