"""Registration of the directory portlet: a light window, the work done on its own page.

The window only shows a search form, identical for everybody (``vary=Variance.NONE``). The
form is a plain GET to ``/p/directory/`` that works without JavaScript; with htmx the same URL
answers an ``HX-Request`` with just the results fragment, swapped in below the form.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, make_response, render_template, request
from sqlalchemy import or_, select

from portal.toolkit import (
    CachePolicy,
    OrgUnit,
    Person,
    Portlet,
    RenderContext,
    Size,
    Variance,
    db_session,
    gettext,
    hookimpl,
    lazy_gettext,
    login_required,
    prefix_match,
)

bp = Blueprint("directory_portlet", __name__, template_folder="templates")

MAX_RESULTS = 20
MAX_QUERY = 50


def render(ctx: RenderContext) -> str:
    return render_template("directory/portlet.html", q="", max_query=MAX_QUERY)


def search_people(query: str) -> tuple[list[Any], bool]:
    """Active people whose display name or user name starts with *query*, and whether there
    were more than ``MAX_RESULTS`` (one extra row is fetched to know)."""
    rows = list(db_session().execute(
        select(Person.display_name, Person.username, Person.mobile, Person.email,
               OrgUnit.name.label("unit"))
        .outerjoin(OrgUnit, OrgUnit.id == Person.org_unit_id)
        .where(Person.active.is_(True),
               # autoescape: "%" and "_" typed by the user are literal, not wildcards.
               or_(prefix_match(Person.display_name, query),
                   prefix_match(Person.username, query)))
        .order_by(Person.display_name, Person.username)
        .limit(MAX_RESULTS + 1)))
    return rows[:MAX_RESULTS], len(rows) > MAX_RESULTS


@bp.route("/")
@login_required
def search() -> Any:
    """The directory page, or only its results for htmx; every signed-in user may search."""
    query = request.args.get("q", "").strip()
    if len(query) > MAX_QUERY:
        abort(400, gettext("Search text may be at most %(n)d characters long.", n=MAX_QUERY))
    rows, truncated = search_people(query) if query else ([], False)
    fragment = bool(request.headers.get("HX-Request"))
    template = "directory/results.html" if fragment else "directory/page.html"
    resp = make_response(render_template(template, q=query, rows=rows, truncated=truncated,
                                         max_results=MAX_RESULTS, max_query=MAX_QUERY))
    # One URL, two representations: caches (and the back button) must keep them apart.
    resp.vary.add("HX-Request")
    return resp


PORTLET = Portlet(
    id="directory",
    title=lazy_gettext("Directory"),
    description=lazy_gettext("Find a colleague's unit, mobile number and email."),
    category="tools",
    render=render,
    default_size=Size(6, 3),
    min_size=Size(3, 2),
    max_size=Size(12, 8),
    # The window is only a form: the same for everybody. Results are never cached.
    cache=CachePolicy(ttl=3600, vary=Variance.NONE),
    blueprint=bp,
    icon="☎",
)


@hookimpl
def portal_portlets() -> Iterable[Portlet]:
    return [PORTLET]


@hookimpl
def portal_translations() -> str:
    return str(Path(__file__).parent / "translations")
