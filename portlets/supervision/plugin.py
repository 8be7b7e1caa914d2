"""Registration of the supervision plugin (督查督办): its portlet, pages, to-do items,
deadlines on the calendar, migrations, translations and demo data."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, render_template, url_for
from sqlalchemy import bindparam, or_, select

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
    run_prepared,
)
from portlets.supervision import service
from portlets.supervision.models import Task
from portlets.supervision.views import bp

HERE = Path(__file__).parent


def render_portlet(ctx: RenderContext) -> str:
    tasks = service.tasks_for(db_session(), ctx.principal, open_only=True, limit=8)
    return render_template("supervision/portlet.html", tasks=tasks, now=datetime.now(),
                           may_create=service.is_leader(ctx.principal))


PORTLET = Portlet(
    id="supervision", title=lazy_gettext("Supervision"),
    description=lazy_gettext("Tasks leaders assigned, with deadlines; overdue ones in red."),
    category="work", render=render_portlet, default_size=Size(6, 4), min_size=Size(3, 3),
    cache=CachePolicy(ttl=0, vary=Variance.USER), timeout=1.5, icon="⚑")


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


def _waiting_query() -> Any:
    """``service.waiting_on`` with only the columns a to-do item shows, built once: the to-do
    window asks on every request when the portlet cache is off. A person without a unit
    passes ``NULL``, which matches no task, as ``waiting_on`` leaves that condition out."""
    t = Task.__table__.c
    me = bindparam("person_id")
    return (select(t.id, t.title, t.status, t.deadline, t.created_at)
            .where(or_((t.status == "open") & or_(t.assignee_person_id == me,
                                                   t.assignee_unit_id == bindparam("unit_id")),
                       (t.status == "done") & (t.leader_id == me)))
            .order_by(t.deadline).limit(100))


WAITING = _waiting_query()


@hookimpl
def portal_todo_items(principal: Principal) -> Iterable[TodoItem]:
    now = datetime.now()
    source = gettext("Supervision")
    items = []
    for t in run_prepared(WAITING, {"person_id": principal.person_id,
                                    "unit_id": principal.org_unit_id}):
        what = gettext("Accept") if t.status == "done" else gettext("Carry out")
        items.append(TodoItem(source=source, title=f"【{what}】{t.title}",
                              url=url_for("supervision.show", task_id=t.id), due=t.deadline,
                              created=t.created_at,
                              urgent=t.status == "open" and t.deadline < now))
    return items


@hookimpl
def portal_calendar_events(principal: Principal, start: datetime,
                           end: datetime) -> Iterable[CalendarEvent]:
    """Each open task's deadline as a half-hour entry ending at the deadline."""
    rows = db_session().scalars(
        select(Task).where(service.visible(principal), Task.status.in_(("open", "done")),
                           Task.deadline > start, Task.deadline <= end + timedelta(minutes=30))
        .order_by(Task.deadline).limit(2000))
    now = datetime.now()
    return [CalendarEvent(title=gettext("Deadline: %(title)s", title=t.title),
                          start=t.deadline - timedelta(minutes=30), end=t.deadline,
                          source=gettext("Supervision"), kind="deadline",
                          url=url_for("supervision.show", task_id=t.id),
                          uid=f"supervision-task-{t.id}",
                          urgent=t.status == "open" and t.deadline < now) for t in rows]


@hookimpl
def portal_demo_data(session: Any, seed: int) -> None:
    from portlets.supervision.demo import generate

    generate(session, seed)
