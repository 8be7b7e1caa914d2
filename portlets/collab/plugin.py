"""Registration of the collaboration plugin: four portlets, pages, to-do items, the deadline
clock's command, demo data. The hooks are the whole contract with the core."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from flask import Blueprint, Flask, render_template, url_for
from flask.cli import with_appcontext
from sqlalchemy import and_, bindparam, func, or_, select

from portal.toolkit import (
    CachePolicy,
    DomainEvent,
    PeriodicJob,
    Portlet,
    Principal,
    RenderContext,
    SearchResult,
    Size,
    TodoItem,
    Variance,
    db_session,
    dispatch_pending,
    excerpt,
    hookimpl,
    invalidate,
    lazy_gettext,
    people_in_units,
    run_prepared,
    setting,
)
from portlets.collab import access, catalogue, lists, query
from portlets.collab.models import WorkItem
from portlets.collab.states import EDITABLE, OPEN, State
from portlets.collab.views import bp

HERE = Path(__file__).parent
WINDOW_ROWS = 6
#: To-do items and search hits handed to the unified lists, at most.
TODO_LIMIT = 300
SEARCH_LIMIT = 20
PORTLET_IDS = ("collab_todo", "collab_sent", "collab_dept")


def _render_box(ctx: RenderContext, box: str) -> str:
    rows, more = lists.box(db_session(), ctx.principal, box, size=WINDOW_ROWS)
    return render_template("collab/portlet.html", rows=rows, more=more, box=box,
                           now=datetime.now())


def render_todo(ctx: RenderContext) -> str:
    return _render_box(ctx, "todo")


def render_sent(ctx: RenderContext) -> str:
    return _render_box(ctx, "sent")


def render_dept(ctx: RenderContext) -> str:
    return _render_box(ctx, "dept")


def render_stats(ctx: RenderContext) -> str:
    s = db_session()
    figures = query.analytics(s, ctx.principal, query.Filters())
    by_state = dict(s.execute(
        select(WorkItem.state, func.count()).where(
            WorkItem.id.in_(query.build(s, ctx.principal, query.Filters())
                            .with_only_columns(WorkItem.id).order_by(None)))
        .group_by(WorkItem.state)).all())
    return render_template("collab/stats_portlet.html", figures=figures, by_state=by_state,
                           open_states=[st.value for st in OPEN])


def _portlet(id: str, title: Any, description: Any, render: Any, icon: str,
             posts: frozenset[str] | None = None, size: Size | None = None) -> Portlet:
    return Portlet(id=id, title=title, description=description, category="work",
                   render=render, posts=posts, default_size=size or Size(6, 4),
                   min_size=Size(3, 3),
                   cache=CachePolicy(ttl=120, vary=Variance.USER), timeout=1.5, icon=icon)


PORTLETS = (
    _portlet("collab_todo", lazy_gettext("My collaboration to-dos"),
             lazy_gettext("Work items waiting for you or your department."), render_todo, "⇄"),
    _portlet("collab_sent", lazy_gettext("Items I started"),
             lazy_gettext("Work items you started, and where they are now."), render_sent,
             "↗"),
    _portlet("collab_dept", lazy_gettext("Department collaboration"),
             lazy_gettext("Open work items held in your unit (or the units you manage)."),
             render_dept, "▤", posts=frozenset({"dept_head", "leader", "admin", "inspector",
                                                 "account_manager", "deliveryman", "office"})),
    _portlet("collab_stats", lazy_gettext("Collaboration statistics"),
             lazy_gettext("Volume, overdue rate and ratings of the units you manage."),
             render_stats, "◔", posts=frozenset({"dept_head", "leader", "admin"}),
             size=Size(8, 5)),
)


@hookimpl
def portal_portlets() -> Iterable[Portlet]:
    return PORTLETS


@hookimpl
def portal_startup(app: Flask) -> None:
    """Read the work type catalogue now: a missing or bad file marks the plugin broken at
    start-up (with the file and entry in the error) instead of failing every page."""
    with app.app_context():
        catalogue.work_types()


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
def portal_handle_event(event: DomainEvent) -> None:
    """A work item changed: the windows and to-do lists of everyone involved are stale."""
    if event.type != "collab.changed":
        return
    people = set(event.payload.get("people") or ())
    units = [int(u) for u in event.payload.get("units") or ()]
    if units:
        people.update(people_in_units(db_session(), units))
    for pid in people:
        for portlet_id in (*PORTLET_IDS, "todo"):
            invalidate(portlet_id, user=int(pid))
    invalidate("collab_dept")
    invalidate("collab_stats")


def _todo_query() -> Any:
    """``lists.todo_filter`` as one statement built once, with only the columns the list
    shows: the to-do window asks on every request when the portlet cache is off, and a user
    with hundreds of open items must not cost hundreds of ORM objects. No unit inbox
    (``:units`` empty) matches nothing, as ``todo_filter`` then leaves that condition out."""
    w = WorkItem.__table__.c
    me = bindparam("person_id")
    held = and_(w.handler_person_id == me,
                w.state.in_(sorted(s.value for s in OPEN | EDITABLE if s != State.DRAFT)))
    to_rate = and_(w.originator_id == me, w.state == State.FINISHED.value)
    inbox = and_(w.handler_person_id.is_(None),
                 w.handler_unit_id.in_(bindparam("units", expanding=True)),
                 w.state.in_(lists.INBOX_STATES))
    return (select(w.id, w.type_code, w.subject, w.state, w.due_at, w.handed_at, w.updated_at)
            .where(or_(held, to_rate, inbox))
            .order_by(w.due_at.is_(None), w.due_at, w.id.desc()).limit(TODO_LIMIT))


TODO = _todo_query()


@hookimpl
def portal_todo_items(principal: Principal) -> Iterable[TodoItem]:
    """The to-do folder's items (the rule of ``lists.todo_filter``)."""
    units = sorted({principal.org_unit_id, *principal.managed_units} - {None})
    rows = run_prepared(TODO, {"person_id": principal.person_id, "units": units}).all()
    now = datetime.now()
    source = str(lazy_gettext("Collaboration"))
    names = {code: catalogue_name(code) for code in {r.type_code for r in rows}}
    return [TodoItem(source=source, title=f"【{names[r.type_code]}】{r.subject}",
                     url=url_for("collab.show", item_id=r.id), due=r.due_at,
                     created=r.handed_at or r.updated_at,
                     urgent=bool(r.due_at and r.due_at < now) or r.state == State.REOPENED)
            for r in rows]


@hookimpl
def portal_search(principal: Principal, query: str) -> Iterable[SearchResult]:
    """Work items the person may see (the same rule as every collaboration page) whose subject,
    content or result hold every word of the query; drafts only to their author."""
    s = db_session()
    words = [f"%{w.replace('%', '').replace('_', '')}%" for w in query.split()]
    rows = s.scalars(select(WorkItem).where(
        access.visible(s, principal),
        *[or_(WorkItem.subject.like(w), WorkItem.content.like(w), WorkItem.result.like(w))
          for w in words]).order_by(WorkItem.updated_at.desc(), WorkItem.id.desc())
        .limit(SEARCH_LIMIT)).all()
    source = str(lazy_gettext("Collaboration"))
    return [SearchResult(source=source, title=f"【{catalogue_name(r.type_code)}】{r.subject}",
                         url=url_for("collab.edit" if r.state == "draft" else "collab.show",
                                     item_id=r.id),
                         snippet=excerpt(f"{r.content} {r.result}", query.split()),
                         when=r.updated_at,
                         score=2.0 if all(w in r.subject for w in query.split()) else 1.0)
            for r in rows]


def catalogue_name(code: str) -> str:
    wt = catalogue.work_type(code)
    return wt.name if wt else code


@click.group("collab")
def collab_cli() -> None:
    """Collaboration (协同工作): the deadline clock."""


@collab_cli.command("tick")
@click.option("--now", "now_raw", default="", help="Pretend it is this moment (ISO format).")
@with_appcontext
def tick_command(now_raw: str) -> None:
    """Remind holders before deadlines and escalate items past them (run it every few
    minutes from cron or a worker)."""
    from flask import current_app

    from portlets.collab.escalation import tick

    try:
        now = datetime.fromisoformat(now_raw) if now_raw else datetime.now()
    except ValueError as exc:
        raise click.BadParameter("use the ISO format, e.g. 2026-11-23T09:30",
                                 param_hint="--now") from exc
    s = db_session()
    result = tick(s, now)
    s.commit()
    dispatch_pending(current_app)  # a command has no request to deliver its events after
    click.echo(f"reminded {result.reminded}, escalated {result.escalated}, "
               f"at the top of the ladder {result.at_top}")


def _tick() -> None:
    from portlets.collab.escalation import tick

    tick(db_session(), datetime.now())


@hookimpl
def portal_periodic_jobs() -> Iterable[PeriodicJob]:
    """The deadline clock runs in the worker (and in the demo's outbox thread) by itself;
    ``portal collab tick`` remains for cron and for trying a moment by hand."""
    return [PeriodicJob("collab.tick", every_seconds=float(setting("COLLAB_TICK_SECONDS")),
                        run=_tick, description="reminders and escalation of work items")]


@hookimpl
def portal_cli(cli: click.Group) -> None:
    cli.add_command(collab_cli)


@hookimpl
def portal_demo_data(session: Any, seed: int) -> None:
    from portlets.collab.demo import generate

    generate(session, seed)
from portlets.collab.indicators import portal_indicators  # noqa: E402,F401  (issue 9)
