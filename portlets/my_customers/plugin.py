"""Registration of the my-customers portlet: a per-user window plus its own paginated page.

Whose customers: the person named in the customer's inspector, account manager or deliveryman
column, for each of those posts the user holds. That is the user's own data, so the window is
cached with ``vary=Variance.USER``; the licence alerts depend on today's date, so the TTL stays
short (it also bounds how late a new flag from a synced change shows).
The page ``/p/my_customers/`` is not cached and checks the portlet's own access rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_babel import LazyString
from sqlalchemy import ColumnElement, Select, bindparam, case, false, func, or_, select

from portal.toolkit import (
    CachePolicy,
    Customer,
    Mode,
    Portlet,
    Preference,
    PreferenceSchema,
    Principal,
    RenderContext,
    Size,
    Variance,
    current_principal,
    db_session,
    gettext,
    hookimpl,
    lazy_gettext,
    login_required,
    prefix_match,
    run_prepared,
)

bp = Blueprint("my_customers_portlet", __name__, template_folder="templates")

#: Which customer column names the holder of each post (三员: one of each per customer).
STAFF_COLUMNS = {
    "inspector": Customer.inspector_id,
    "account_manager": Customer.account_manager_id,
    "deliveryman": Customer.deliveryman_id,
}
#: Renewal must be applied for 30 days before expiry (烟草专卖许可证管理办法 第32条).
WARN_DAYS = 30
PAGE_SIZE = 50
MAX_PAGE = 10_000
MAX_QUERY = 50
PAGE_NUMBER = re.compile(r"[0-9]{1,5}")

STATUS_TITLES: dict[str, LazyString] = {
    "PENDING": lazy_gettext("Pending"),
    "ACTIVE": lazy_gettext("Active"),
    "SUSPENDED": lazy_gettext("Suspended"),
    "EXPIRED": lazy_gettext("Expired"),
    "CANCELLED": lazy_gettext("Cancelled"),
    "REVOKED": lazy_gettext("Revoked"),
}

COLUMNS = (Customer.id, Customer.name, Customer.license_no, Customer.customer_code,
           Customer.grade, Customer.business_format, Customer.status, Customer.license_valid_to)


def served_by(principal: Principal) -> ColumnElement[bool]:
    """Customers *principal* serves in any staff post they hold (each column is indexed)."""
    mine = [column == principal.person_id
            for post, column in STAFF_COLUMNS.items() if post in principal.posts]
    return or_(*mine) if mine else false()


def customers(where: ColumnElement[bool], limit: int, offset: int = 0) -> list[Any]:
    """Soonest licence expiry first (those need attention); customers without a date last."""
    return list(db_session().execute(
        select(*COLUMNS).where(where)
        .order_by(Customer.license_valid_to.asc().nulls_last(), Customer.name, Customer.id)
        .limit(limit).offset(offset)))


def recent_flags(rows: list[Any]) -> dict[int, set[str]]:
    """Recent case, grade change, delivery exception: from the connectors' records when that
    plugin is installed; without it there is nothing to flag."""
    try:
        from connectors.flags import customer_flags
    except ImportError:  # pragma: no cover - the connectors are part of this distribution
        return {}
    return customer_flags(db_session(), [r.id for r in rows])


def count(where: ColumnElement[bool]) -> int:
    return db_session().scalar(select(func.count()).select_from(Customer).where(where)) or 0


_WINDOW_QUERIES: dict[tuple[str, ...], Select[Any]] = {}


def window_query(posts: tuple[str, ...]) -> Select[Any]:
    """The window's one query for the holder of *posts* (staff posts, sorted): the first
    ``:limit`` customers, each row also carrying the total and the licences to renew (window
    aggregates, computed over every matching row before the limit).

    Built once per combination of staff posts and kept (see ``toolkit.run_prepared``): the
    window renders on every request when the portlet cache is off, and building the three
    queries it used to run cost more than SQLite spent answering them.
    """
    stmt = _WINDOW_QUERIES.get(posts)
    if stmt is None:
        t = Customer.__table__.c
        me = bindparam("person_id")
        where = or_(*(t[STAFF_COLUMNS[post].key] == me for post in posts)) if posts else false()
        renew = case(((t.status == "ACTIVE") & (t.license_valid_to <= bindparam("renew_by")), 1))
        stmt = _WINDOW_QUERIES[posts] = (
            select(*(t[col.key] for col in COLUMNS),
                   func.count().over().label("total"),
                   func.count(renew).over().label("expiring"))
            .where(where)
            .order_by(t.license_valid_to.asc().nulls_last(), t.name, t.id)
            .limit(bindparam("limit")))
    return stmt


def render(ctx: RenderContext) -> str:
    today = date.today()
    posts = tuple(sorted(post for post in STAFF_COLUMNS if post in ctx.principal.posts))
    # Layout files are not validated against the schema: clamp rather than trust.
    limit = max(5, min(50, int(ctx.preferences["limit"])))
    rows = run_prepared(window_query(posts), {
        "person_id": ctx.principal.person_id, "limit": limit,
        "renew_by": today + timedelta(days=WARN_DAYS)}).all()
    return render_template(
        "my_customers/portlet.html",
        rows=rows, recent=recent_flags(rows),
        total=rows[0].total if rows else 0,
        expiring=rows[0].expiring if rows else 0,
        today=today, warn_days=WARN_DAYS, statuses=STATUS_TITLES,
    )


PORTLET = Portlet(
    id="my_customers",
    title=lazy_gettext("My customers"),
    description=lazy_gettext("Retailers you inspect, serve or deliver to, with licence alerts."),
    category="customers",
    render=render,
    posts=frozenset(STAFF_COLUMNS),
    default_size=Size(6, 4),
    min_size=Size(4, 3),
    max_size=Size(12, 8),
    modes=frozenset({Mode.VIEW, Mode.EDIT}),
    preferences=PreferenceSchema((
        Preference("limit", "int", 8, lazy_gettext("Customers shown"), minimum=5, maximum=50),
    )),
    # The user's own customers; alerts are relative to today, so a short TTL.
    cache=CachePolicy(ttl=120, vary=Variance.USER),
    blueprint=bp,
    icon="☷",
)


def _page_number() -> int:
    raw = request.args.get("page", "1")
    if not PAGE_NUMBER.fullmatch(raw) or not 1 <= int(raw) <= MAX_PAGE:
        abort(400, gettext("Page must be a whole number from 1 to %(max)d.", max=MAX_PAGE))
    return int(raw)


@bp.route("/")
@login_required
def index() -> Any:
    """All of the user's customers, 50 a page, optionally those whose name or licence number
    starts with ``q``."""
    principal = current_principal()
    if principal is None or not PORTLET.allowed_for(principal):
        abort(403)
    q = request.args.get("q", "").strip()
    if len(q) > MAX_QUERY:
        abort(400, gettext("Search text may be at most %(n)d characters long.", n=MAX_QUERY))
    page = _page_number()
    where = served_by(principal)
    if q:
        where = where & or_(prefix_match(Customer.name, q),
                            prefix_match(Customer.license_no, q))
    total = count(where)
    page_count = max(1, -(-total // PAGE_SIZE))
    if page > page_count:
        abort(404)
    # Not "page"/"pages": base.html uses those names for the portal's tabs.
    rows = customers(where, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    return render_template(
        "my_customers/page.html",
        rows=rows, recent=recent_flags(rows),
        total=total, page_no=page, page_count=page_count, q=q, max_query=MAX_QUERY,
        today=date.today(), warn_days=WARN_DAYS, statuses=STATUS_TITLES,
    )


@hookimpl
def portal_portlets() -> Iterable[Portlet]:
    return [PORTLET]


@hookimpl
def portal_translations() -> str:
    return str(Path(__file__).parent / "translations")
