"""Registration of the customer statistics portlet: aggregates, a chart, and a plain table.

Which units: ``customer_scope`` — the units the user manages, else their own unit, each with
its subtree (a 专卖所/营销部/配送站 stands for its county, whose customers it serves). The
managed units are the person's own, not their org unit's: two people in one unit can oversee
different units, so the fragment varies by user, not by org (``Variance.ORG`` keys on the org
unit alone). Leaders and managers are few, so the per-user copies cost little.

The chart is drawn by ECharts from a JSON data block; the same figures are a ``<table>``, so the
window reads without JavaScript, and ECharts is fetched only by pages that show this portlet.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flask import Blueprint, render_template
from sqlalchemy import func, select

from portal.toolkit import (
    CachePolicy,
    Customer,
    Portlet,
    RenderContext,
    Size,
    Variance,
    customer_scope,
    db_session,
    gettext,
    hookimpl,
    lazy_gettext,
)

bp = Blueprint("customer_stats_portlet", __name__, template_folder="templates")

#: Grade bands (档位 D1 lowest … D30 highest) as (first, last) grade.
GRADE_BANDS = ((1, 10), (11, 20), (21, 30))
#: The domain knows about seven business formats; the bound only protects against bad data.
MAX_FORMATS = 20


def figures(unit_ids: list[int]) -> dict[str, list[Any]]:
    """Active customers of *unit_ids* by grade band and by business format.

    Grouping by the raw grade (at most 30 rows) and banding in Python keeps the SQL the same on
    SQLite and PostgreSQL; both queries use the ``org_unit_id`` and ``status`` indexes.
    """
    s = db_session()
    active = (Customer.status == "ACTIVE") & Customer.org_unit_id.in_(unit_ids)
    by_grade = dict(s.execute(select(Customer.grade, func.count()).where(active)
                              .group_by(Customer.grade)).all())
    formats = s.execute(select(Customer.business_format, func.count()).where(active)
                        .group_by(Customer.business_format)
                        .order_by(func.count().desc(), Customer.business_format)
                        .limit(MAX_FORMATS)).all()
    return {
        "grades": [(f"D{lo}–D{hi}", sum(n for g, n in by_grade.items() if lo <= g <= hi))
                   for lo, hi in GRADE_BANDS],
        "formats": [(name or gettext("Unknown"), n) for name, n in formats],
    }


def render(ctx: RenderContext) -> str:
    unit_ids = customer_scope(db_session(), ctx.principal)
    data = figures(unit_ids) if unit_ids else {"grades": [], "formats": []}
    return render_template(
        "customer_stats/portlet.html",
        data=data,
        total=sum(n for _label, n in data["grades"]),
        titles={"grades": gettext("By grade"), "formats": gettext("By business format")},
    )


PORTLET = Portlet(
    id="customer_stats",
    title=lazy_gettext("Customer distribution"),
    description=lazy_gettext("Active customers of your units by grade and business format."),
    category="customers",
    render=render,
    # Counts of a unit's customers are no secret to the people who serve them; deliverymen
    # work by route and have "my customers" instead.
    posts=frozenset({"inspector", "account_manager", "dept_head", "leader"}),
    default_size=Size(8, 5),
    min_size=Size(4, 4),
    max_size=Size(12, 8),
    # Depends on the units the user oversees (managed units are per person): see above.
    cache=CachePolicy(ttl=300, vary=Variance.USER),
    blueprint=bp,
    icon="◔",
)


@hookimpl
def portal_portlets() -> Iterable[Portlet]:
    return [PORTLET]


@hookimpl
def portal_translations() -> str:
    return str(Path(__file__).parent / "translations")
