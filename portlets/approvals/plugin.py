"""Registration of the approvals plugin (网上审批): its portlet, pages, to-do items, leave on
the calendar, migrations, translations and demo data."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, render_template, url_for
from sqlalchemy import bindparam, select

from portal.toolkit import (
    CachePolicy,
    CalendarEvent,
    Person,
    Portlet,
    Principal,
    RenderContext,
    Size,
    TodoItem,
    Variance,
    WorkflowTask,
    db_session,
    gettext,
    hookimpl,
    lazy_gettext,
    run_prepared,
)
from portlets.approvals import chain, service
from portlets.approvals.models import ApprovalRequest
from portlets.approvals.views import bp, kind_label

HERE = Path(__file__).parent


def render_portlet(ctx: RenderContext) -> str:
    s = db_session()
    waiting = service.waiting(s, ctx.principal, limit=5)
    ids = {r.applicant_id for _s, r in waiting}
    names = dict(s.execute(select(Person.id, Person.display_name)
                           .where(Person.id.in_(ids))).all()) if ids else {}  # type: ignore[arg-type]
    return render_template("approvals/portlet.html", waiting=waiting,
                           mine=service.mine(s, ctx.principal, limit=4), names=names,
                           now=datetime.now())


PORTLET = Portlet(
    id="approvals", title=lazy_gettext("My requests / waiting for my approval"),
    description=lazy_gettext("Leave, purchase and other requests: yours, and those waiting "
                             "for your decision."),
    category="work", render=render_portlet, default_size=Size(6, 5), min_size=Size(3, 3),
    cache=CachePolicy(ttl=0, vary=Variance.USER), timeout=1.5, icon="✓")


@hookimpl
def portal_portlets() -> Iterable[Portlet]:
    return [PORTLET]


@hookimpl
def portal_startup(app: Flask) -> None:
    """Read the chains' step names now: a bad file stops this plugin at start-up (the engine
    checks the same files through ``portal_workflow_definitions``)."""
    chain.chains()


@hookimpl
def portal_workflow_definitions() -> Iterable[str | Path]:
    """The leave, purchase and general request chains, run by the portal's workflow engine."""
    return [chain.HERE]


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
    """``service.waiting`` with only the columns a to-do item shows, built once: the to-do
    window asks on every request when the portlet cache is off."""
    task, req = WorkflowTask.__table__.c, ApprovalRequest.__table__.c
    return (select(req.id, req.kind, req.title, task.due_at, task.created_at)
            .join_from(WorkflowTask.__table__, ApprovalRequest.__table__,
                       req.instance_id == task.instance_id)
            .where(task.assignee_id == bindparam("person_id"), task.status == "open")
            .order_by(task.due_at, task.id).limit(100))


WAITING = _waiting_query()


@hookimpl
def portal_todo_items(principal: Principal) -> Iterable[TodoItem]:
    now = datetime.now()
    source = gettext("Approval")
    return [TodoItem(source=source, title=f"【{kind_label(r.kind)}】{r.title}",
                     url=url_for("approvals.show", request_id=r.id), due=r.due_at,
                     created=r.created_at, urgent=bool(r.due_at and r.due_at < now))
            for r in run_prepared(WAITING, {"person_id": principal.person_id})]


@hookimpl
def portal_calendar_events(principal: Principal, start: datetime,
                           end: datetime) -> Iterable[CalendarEvent]:
    events = []
    for r in service.leave_between(db_session(), principal, start, end):
        first = datetime.fromisoformat(r.data["first_day"])
        last = datetime.fromisoformat(r.data["last_day"])
        title = gettext("Leave: %(title)s", title=r.title) if r.status == "approved" else \
            gettext("Leave (in approval): %(title)s", title=r.title)
        events.append(CalendarEvent(title=title, start=first, end=last + timedelta(days=1),
                                    all_day=True, source=gettext("Leave"), kind="leave",
                                    url=url_for("approvals.show", request_id=r.id),
                                    uid=f"approvals-leave-{r.id}"))
    return events


@hookimpl
def portal_demo_data(session: Any, seed: int) -> None:
    from portlets.approvals.demo import generate

    generate(session, seed)
