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
from sqlalchemy import bindparam, func, select

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
    run_prepared,
)

bp = Blueprint("customer_stats_portlet", __name__, template_folder="templates")

#: Grade bands (档位 D1 lowest … D30 highest) as (first, last) grade.
GRADE_BANDS = ((1, 10), (11, 20), (21, 30))
#: The domain knows about seven business formats; the bound only protects against bad data.
MAX_FORMATS = 20


def _counts_query() -> Any:
    t = Customer.__table__.c
    return (select(t.grade, t.business_format, func.count())
            .where(t.status == "ACTIVE", t.org_unit_id.in_(bindparam("units", expanding=True)))
            .group_by(t.grade, t.business_format))


#: Built once (see ``toolkit.run_prepared``): the window renders on every request when the
#: portlet cache is off.
COUNTS = _counts_query()


def figures(unit_ids: list[int]) -> dict[str, list[Any]]:
    """Active customers of *unit_ids* by grade band and by business format.

    One ``GROUP BY`` grade and format (at most 30 grades × a handful of formats) read once, then
    summed both ways in Python: half the scanning of two ``GROUP BY``s, the same SQL on SQLite
    and PostgreSQL, on the ``org_unit_id`` and ``status`` indexes.
    """
    by_grade: dict[int, int] = {}
    by_format: dict[str | None, int] = {}
    for grade, business_format, n in run_prepared(COUNTS, {"units": unit_ids}):
        by_grade[grade] = by_grade.get(grade, 0) + n
        by_format[business_format] = by_format.get(business_format, 0) + n
    # Most customers first, then by name (None, the unknown format, sorts first as in SQL).
    formats = sorted(by_format.items(), key=lambda kv: (-kv[1], kv[0] is not None, kv[0] or ""))
    return {
        "grades": [(f"D{lo}–D{hi}", sum(n for g, n in by_grade.items() if lo <= g <= hi))
                   for lo, hi in GRADE_BANDS],
        "formats": [(name or gettext("Unknown"), n) for name, n in formats[:MAX_FORMATS]],
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
