"""Registration of the documents plugin (公文): two portlets, the pages, the 发文 and 收文
workflow definitions, to-do items, cache invalidation on workflow events, demo data."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, render_template

from portal.toolkit import (
    CachePolicy,
    DomainEvent,
    Portlet,
    Principal,
    RenderContext,
    SearchResult,
    Size,
    TodoItem,
    Variance,
    db_session,
    hookimpl,
    invalidate,
    lazy_gettext,
)
from portlets.documents import lists
from portlets.documents import search as doc_search
from portlets.documents.service import INCOMING, OUTGOING
from portlets.documents.views import bp

HERE = Path(__file__).parent
WINDOW_ROWS = 6
PORTLET_IDS = ("documents_todo", "documents_incoming")


def render_todo(ctx: RenderContext) -> str:
    tasks = lists.my_tasks(db_session(), ctx.principal.person_id, limit=WINDOW_ROWS)
    return render_template("documents/portlet_todo.html", tasks=tasks, now=datetime.now())


def render_incoming(ctx: RenderContext) -> str:
    rows = lists.incoming(db_session(), ctx.principal, limit=WINDOW_ROWS)
    return render_template("documents/portlet_incoming.html", rows=rows)


PORTLETS = (
    Portlet(id="documents_todo", title=lazy_gettext("Document tasks"),
            description=lazy_gettext("Outgoing and incoming documents waiting for you."),
            category="work", render=render_todo, default_size=Size(6, 4), min_size=Size(3, 3),
            cache=CachePolicy(ttl=120, vary=Variance.USER), timeout=1.5, icon="✎"),
    Portlet(id="documents_incoming", title=lazy_gettext("Incoming documents"),
            description=lazy_gettext("Documents received by your unit; unread ones in bold."),
            category="work", render=render_incoming, default_size=Size(6, 4),
            min_size=Size(3, 3), cache=CachePolicy(ttl=120, vary=Variance.USER), timeout=1.5,
            icon="✉"),
)


@hookimpl
def portal_portlets() -> Iterable[Portlet]:
    return PORTLETS


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
def portal_workflow_definitions() -> Iterable[Path]:
    return [HERE / "workflows"]


@hookimpl
def portal_handle_event(event: DomainEvent) -> None:
    """A document moved: the windows and to-do lists of the people involved are stale; a
    reading or an arrival changes the incoming windows of the unit, so those are all."""
    if event.type != "workflow.transition" or \
            event.payload.get("definition_id") not in (OUTGOING, INCOMING):
        return
    people = {int(p) for p in event.payload.get("assignees") or ()}
    if event.payload.get("actor_id"):
        people.add(int(event.payload["actor_id"]))
    for pid in people:
        for portlet_id in ("documents_todo", "todo"):
            invalidate(portlet_id, user=pid)
    invalidate("documents_incoming")


@hookimpl
def portal_todo_items(principal: Principal) -> Iterable[TodoItem]:
    now = datetime.now()
    source = str(lazy_gettext("Documents"))
    return [TodoItem(source=source, title=f"【{lists.step_name(t.definition_id, t.step)}】"
                                         f"{t.title}",
                     url=t.url, due=t.due_at, created=t.created_at,
                     urgent=bool(t.due_at and t.due_at < now))
            for t in lists.my_tasks(db_session(), principal.person_id, limit=100)]


@hookimpl
def portal_search(principal: Principal, query: str) -> Iterable[SearchResult]:
    """Outgoing and incoming documents the person's lists would show, by title or number."""
    return doc_search.search(db_session(), principal, query)


@hookimpl(trylast=True)
def portal_demo_data(session: Any, seed: int) -> None:
    """After the company CA's own demo data (trylast), so that documents can be sealed."""
    from portlets.documents.demo import generate

    generate(session, seed)
