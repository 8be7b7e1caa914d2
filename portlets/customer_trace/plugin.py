"""Registration of the customer trace portlet (客户痕迹区): a search window on the homepage,
a results page and one page per customer with everything the sources told the portal.

Search and pages are limited to the user's customer scope (``customer_scope``), and a
customer's own three staff may always open its page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from sqlalchemy.orm import joinedload

from connectors.labels import (
    CASE_TYPE_LABELS,
    EVENT_LABELS,
    FIELD_LABELS,
    SIGN_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
)
from portal.toolkit import (
    CachePolicy,
    Customer,
    Portlet,
    Principal,
    RenderContext,
    SearchResult,
    Size,
    Variance,
    current_principal,
    customer_scope,
    db_session,
    gettext,
    hookimpl,
    lazy_gettext,
    login_required,
)
from portlets.customer_trace import queries

HERE = Path(__file__).parent
MAX_QUERY = 40
UNIT_ID = re.compile(r"[0-9]{1,9}")

bp = Blueprint("customer_trace", __name__, template_folder="templates",
               static_folder="static", static_url_path="/static")

STAFF_TITLES = {"inspector": lazy_gettext("Inspector"),
                "account_manager": lazy_gettext("Account manager"),
                "deliveryman": lazy_gettext("Deliveryman")}
CASE_STATUS = {"FILED": lazy_gettext("Filed"), "INVESTIGATING": lazy_gettext("Investigating"),
               "DECIDED": lazy_gettext("Decided"), "CLOSED": lazy_gettext("Closed"),
               "TRANSFERRED": lazy_gettext("Transferred")}


def render(ctx: RenderContext) -> str:
    units = queries.scope_units(db_session(), ctx.principal)
    return render_template("customer_trace/portlet.html", units=units, q="", unit_id=None,
                           max_query=MAX_QUERY)


#: Search hits handed to the unified search, at most.
SEARCH_LIMIT = 20

PORTLET = Portlet(
    id="customer_trace",
    title=lazy_gettext("Customer trace"),
    description=lazy_gettext("Find a retailer by unit, name, customer code or licence number "
                             "and see its whole history across the source systems."),
    category="customers",
    render=render,
    default_size=Size(6, 3),
    min_size=Size(3, 2),
    # The unit list depends on the user's scope.
    cache=CachePolicy(ttl=600, vary=Variance.USER),
    blueprint=bp,
    icon="⌕",
)


def _args() -> tuple[str, int | None]:
    q = request.args.get("q", "").strip()
    if len(q) > MAX_QUERY:
        abort(400, gettext("Search text may be at most %(n)d characters long.", n=MAX_QUERY))
    raw = request.args.get("unit", "")
    if raw and not UNIT_ID.fullmatch(raw):
        abort(400, gettext("Unknown organisation unit."))
    return q, int(raw) if raw else None


@bp.route("/")
@login_required
def search() -> Any:
    principal = current_principal()
    assert principal is not None
    q, unit_id = _args()
    s = db_session()
    scope = customer_scope(s, principal)  # once for the search and the unit list
    rows, more = (queries.search(s, principal, q, unit_id, scope) if (q or unit_id)
                  else ([], False))
    return render_template("customer_trace/search.html", rows=rows, more=more, q=q,
                           statuses=STATUS_LABELS,
                           unit_id=unit_id, units=queries.scope_units(s, principal, scope),
                           max_query=MAX_QUERY, searched=bool(q or unit_id))


class Labels:
    """Lazy labels translated once per page: the timeline shows the same field, source and
    event labels on up to a hundred rows, and each lookup of a lazy string is a gettext."""

    def __init__(self, labels: Mapping[str, Any]) -> None:
        self._labels = labels
        self._done: dict[str, str] = {}

    def get(self, key: str, default: Any = None) -> Any:
        if key not in self._done:
            if key not in self._labels:
                return default
            self._done[key] = str(self._labels[key])
        return self._done[key]


@bp.route("/c/<int:customer_id>")
@login_required
def customer(customer_id: int) -> Any:
    principal = current_principal()
    assert principal is not None
    s = db_session()
    # The unit in the same statement: the page's header shows its name.
    c = s.get(Customer, customer_id, options=[joinedload(Customer.org_unit)])
    if c is None:
        abort(404)
    if not queries.may_see(s, principal, c):
        abort(403)
    t = queries.trace(s, c)
    return render_template("customer_trace/customer.html", t=t, c=c,
                           fields=Labels(FIELD_LABELS), sources=Labels(SOURCE_LABELS),
                           staff_titles=STAFF_TITLES, case_status=CASE_STATUS,
                           events=Labels(EVENT_LABELS), statuses=STATUS_LABELS,
                           case_types=CASE_TYPE_LABELS, signs=Labels(SIGN_LABELS))



@hookimpl
def portal_portlets() -> Iterable[Portlet]:
    return [PORTLET]


@hookimpl
def portal_translations() -> str:
    return str(HERE / "translations")


@hookimpl
def portal_migrations() -> str:
    return str(HERE / "migrations" / "versions")


@hookimpl
def portal_search(principal: Principal, query: str) -> Iterable[SearchResult]:
    """Retail customers in the person's scope whose name holds the query, or whose licence
    number or customer code starts with it (the search of this portlet's own page)."""
    if len(query) > MAX_QUERY:
        return []
    rows, _more = queries.search(db_session(), principal, query, None)
    source = str(lazy_gettext("Retail customers"))
    return [SearchResult(source=source, title=r.name,
                         url=url_for("customer_trace.customer", customer_id=r.id),
                         snippet=f"{r.unit} · {gettext('Licence')} {r.license_no} · "
                                 f"{gettext('Customer code')} {r.customer_code}",
                         score=2.0 if r.name == query or r.license_no == query else 1.0)
            for r in rows[:SEARCH_LIMIT]]
