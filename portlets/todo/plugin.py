"""The to-do portlet and the page /todo/ show ``toolkit.todo_summary``: they know no plugin,
every plugin feeds them through ``portal_todo_items``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, render_template, request

from portal.toolkit import (
    CachePolicy,
    Mode,
    Portlet,
    Preference,
    PreferenceSchema,
    RenderContext,
    Size,
    Variance,
    current_principal,
    gettext,
    hookimpl,
    lazy_gettext,
    login_required,
    todo_summary,
)

bp = Blueprint("todo", __name__, template_folder="templates")
#: The full page: its own blueprint, since the portlet's is mounted under /p/todo/.
page_bp = Blueprint("todo_page", __name__, url_prefix="/todo", template_folder="templates")
MAX_SOURCE = 40


def render(ctx: RenderContext) -> str:
    summary = todo_summary(ctx.principal)
    shown = summary.items[: int(ctx.preferences["limit"])]
    return render_template("todo/portlet.html", items=shown, total=summary.total,
                           by_source=summary.counts, now=datetime.now())


@page_bp.route("/")
@login_required
def index() -> Any:
    """Every open item, or one source's (``?source=``), by deadline, with a tab per source."""
    principal = current_principal()
    assert principal is not None
    source = request.args.get("source", "").strip()
    if len(source) > MAX_SOURCE:
        abort(400, gettext("Unknown source."))
    summary = todo_summary(principal, source=source or None)
    return render_template("todo/page.html", summary=summary, source=source,
                           now=datetime.now())


PORTLET = Portlet(
    id="todo",
    title=lazy_gettext("My to-do list"),
    description=lazy_gettext("Everything waiting for you, from every system, by deadline."),
    category="work",
    render=render,
    default_size=Size(6, 4),
    min_size=Size(3, 3),
    modes=frozenset({Mode.VIEW, Mode.EDIT}),
    preferences=PreferenceSchema((
        Preference("limit", "int", 8, lazy_gettext("Items shown"), minimum=3, maximum=30),
    )),
    # Items come from other plugins, which cannot bump this portlet's version: keep it short.
    cache=CachePolicy(ttl=30, vary=Variance.USER),
    blueprint=bp,
    icon="☑",
)


@hookimpl
def portal_portlets() -> Iterable[Portlet]:
    return [PORTLET]


@hookimpl
def portal_blueprints() -> Iterable[Blueprint]:
    return [page_bp]


@hookimpl
def portal_translations() -> str:
    return str(Path(__file__).parent / "translations")
