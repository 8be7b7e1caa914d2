"""The to-do portlet shows ``toolkit.todo_items``: it knows no plugin, every plugin feeds it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from flask import Blueprint, render_template

from portal.toolkit import (
    CachePolicy,
    Mode,
    Portlet,
    Preference,
    PreferenceSchema,
    RenderContext,
    Size,
    Variance,
    hookimpl,
    lazy_gettext,
    todo_items,
)

bp = Blueprint("todo", __name__, template_folder="templates")


def render(ctx: RenderContext) -> str:
    items = todo_items(ctx.principal)
    by_source = Counter(str(i.source) for i in items)
    return render_template("todo/portlet.html", items=items[: int(ctx.preferences["limit"])],
                           total=len(items), by_source=sorted(by_source.items()),
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
def portal_translations() -> str:
    return str(Path(__file__).parent / "translations")
