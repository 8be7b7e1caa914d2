"""The key figures whose data the connectors bring: market share, plan completion, cases,
market purification rate, delivery on-time rate (formulas in docs/indicators.md).

Every figure is computed per person (the customer's staff member of the post the figure
belongs to), per unit (the county bureau the customer hangs on) and for the city, with one
grouped query per level over the synced records; the city is the sum of its units.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from typing import Any

from flask import Flask
from sqlalchemy import Select, and_, case, func, literal, select
from sqlalchemy.orm import Session

from connectors.kpi_models import Inspection, SalesPlan
from connectors.models import Case, Delivery, Purchase
from portal.indicators import unit_rollup
from portal.toolkit import HIGHER, LOWER, Customer, Indicator, Period, Value, hookimpl, lazy_gettext

#: Sign statuses that count as delivered as planned (物流 gives no arrival time).
ON_TIME = ("SIGNED", "PROXY")

Ratio = Callable[[float, float], float | None]


def _share(num: float, den: float) -> float | None:
    return num / den if den else None


def _count(num: float, _den: float) -> float | None:
    return num


def by_levels(session: Session, facts: Any, person_col: Any, value: Ratio = _share,
              with_dim: bool = False) -> Iterator[Value]:
    """Group *facts* (a subquery with ``customer_id``, ``num``, ``den`` and maybe ``dim``)
    by the customer's *person_col* and by its unit; the city is the sum of the units."""
    dim = [facts.c.dim] if with_dim else []
    city, rollup = unit_rollup(session)
    for level, key in (("person", person_col), ("unit", Customer.org_unit_id)):
        rows = session.execute(
            select(key, *dim, func.sum(facts.c.num), func.sum(facts.c.den))
            .join(Customer, Customer.id == facts.c.customer_id)
            .where(key.is_not(None)).group_by(key, *dim)).all()
        totals: dict[tuple[int, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
        for row in rows:
            subject, d = row[0], (row[1] if with_dim else "")
            num, den = float(row[-2] or 0), float(row[-1] or 0)
            if level == "unit":
                subject = rollup.get(subject, subject)
            totals[(subject, d)][0] += num
            totals[(subject, d)][1] += den
        city_totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for (subject, d), (num, den) in totals.items():
            v = value(num, den)
            if v is not None:
                yield Value(level, subject, v, num, den, d)
            if level == "unit":
                city_totals[d][0] += num
                city_totals[d][1] += den
        if level == "unit" and city is not None:
            if value is _count and "" not in city_totals:
                city_totals[""] = [0.0, 0.0]  # no cases in the city is a zero, not a gap
            for d, (num, den) in city_totals.items():
                v = value(num, den)
                if v is not None:
                    yield Value("city", city, v, num, den, d)


def _between(col: Any, start: date, end: date) -> Any:
    return and_(col >= start, col <= end)


# --------------------------------------------------------------------------- market share
def market_share(session: Session, period: Period) -> Iterable[Value]:
    """Own-brand cartons / all cartons ordered in the period (orders with a brand split)."""
    facts = (select(Purchase.customer_id.label("customer_id"),
                    func.sum(Purchase.own_cartons).label("num"),
                    func.sum(Purchase.cartons).label("den"))
             .where(_between(Purchase.ordered_on, period.start, period.end),
                    Purchase.own_cartons.is_not(None))
             .group_by(Purchase.customer_id).subquery())
    return by_levels(session, facts, Customer.account_manager_id)


# --------------------------------------------------------------------------- plan completion
def plan_window(period: Period) -> tuple[date, date]:
    """Orders counted against plan: a day's figure is month-to-date progress, a month's is
    the month (to date), a year's is the year to date."""
    start = period.start.replace(day=1) if period.kind == "day" else period.start
    return start, period.end


def plan_completion(session: Session, period: Period) -> Iterable[Value]:
    """Cartons ordered / cartons planned (营销's monthly plan per account manager)."""
    start, end = plan_window(period)
    orders = (select(Purchase.customer_id.label("customer_id"),
                     func.sum(Purchase.cartons).label("num"), literal(0).label("den"))
              .where(_between(Purchase.ordered_on, start, end))
              .group_by(Purchase.customer_id).subquery())
    plan_filter = and_(SalesPlan.month >= start.replace(day=1), SalesPlan.month <= end)
    city, rollup = unit_rollup(session)
    actual: dict[tuple[str, int], float] = defaultdict(float)
    planned: dict[tuple[str, int], float] = defaultdict(float)
    for level, key in (("person", Customer.account_manager_id), ("unit", Customer.org_unit_id)):
        for subject, num in session.execute(
                select(key, func.sum(orders.c.num))
                .join(Customer, Customer.id == orders.c.customer_id)
                .where(key.is_not(None)).group_by(key)):
            sid = rollup.get(subject, subject) if level == "unit" else subject
            actual[(level, sid)] += float(num or 0)
            if level == "unit" and city is not None:
                actual[("city", city)] += float(num or 0)
    for person, unit, cartons in session.execute(
            select(SalesPlan.person_id, SalesPlan.org_unit_id, func.sum(SalesPlan.cartons))
            .where(plan_filter).group_by(SalesPlan.person_id, SalesPlan.org_unit_id)):
        planned[("person", person)] += float(cartons)
        planned[("unit", rollup.get(unit, unit))] += float(cartons)
        if city is not None:
            planned[("city", city)] += float(cartons)
    for (level, sid), plan in planned.items():
        if plan > 0:
            done = actual.get((level, sid), 0.0)
            yield Value(level, sid, done / plan, done, plan)


# --------------------------------------------------------------------------- cases
def cases(session: Session, period: Period) -> Iterable[Value]:
    """Cases filed in the period, by case type (``dim``) and in total (``dim`` ``""``)."""
    base = (Case.filed_on >= period.start, Case.filed_on <= period.end)
    by_type = (select(Case.customer_id.label("customer_id"), Case.case_type.label("dim"),
                      func.count().label("num"), literal(0).label("den"))
               .where(*base).group_by(Case.customer_id, Case.case_type))
    total = (select(Case.customer_id.label("customer_id"), literal("").label("dim"),
                    func.count().label("num"), literal(0).label("den"))
             .where(*base).group_by(Case.customer_id))
    facts = by_type.union_all(total).subquery()
    return by_levels(session, facts, Customer.inspector_id, _count, with_dim=True)


# --------------------------------------------------------------------------- purification
def purification(session: Session, period: Period) -> Iterable[Value]:
    """Inspected retailers with no violation found and no case filed in the period /
    inspected retailers (see docs/indicators.md: the official formula was not found)."""
    filed = (select(Case.customer_id).where(_between(Case.filed_on, period.start, period.end))
             .distinct().subquery())
    insp: Select[Any] = (
        select(Inspection.customer_id.label("customer_id"),
               func.max(case((Inspection.violation.is_(True), 1), else_=0)).label("bad"))
        .where(_between(Inspection.inspected_on, period.start, period.end))
        .group_by(Inspection.customer_id))
    per_customer = insp.subquery()
    facts = (select(per_customer.c.customer_id.label("customer_id"),
                    case((and_(per_customer.c.bad == 0, filed.c.customer_id.is_(None)), 1),
                         else_=0).label("num"),
                    literal(1).label("den"))
             .outerjoin(filed, filed.c.customer_id == per_customer.c.customer_id)
             .subquery())
    return by_levels(session, facts, Customer.inspector_id)


# --------------------------------------------------------------------------- on-time
def on_time(session: Session, period: Period) -> Iterable[Value]:
    """Deliveries signed for (by the shop or a proxy) / deliveries planned in the period."""
    facts = (select(Delivery.customer_id.label("customer_id"),
                    func.sum(case((Delivery.sign_status.in_(ON_TIME), 1), else_=0)).label("num"),
                    func.count().label("den"))
             .where(_between(Delivery.planned_on, period.start, period.end))
             .group_by(Delivery.customer_id).subquery())
    return by_levels(session, facts, Customer.deliveryman_id)


MARKETING = lazy_gettext("Marketing system (营销): orders")
INDICATORS = (
    Indicator("market_share", lazy_gettext("Market share"), "%",
              lazy_gettext("Own-brand cartons ÷ all cartons ordered by the customers"),
              MARKETING, market_share, target={"person": 0.6, "unit": 0.6, "city": 0.6},
              person_post="account_manager", bounded=True),
    Indicator("plan_completion", lazy_gettext("Plan completion"), "%",
              lazy_gettext("Cartons ordered ÷ monthly plan (month to date; year to date)"),
              lazy_gettext("Marketing system (营销): orders and monthly plans"),
              plan_completion, target={"person": 1.0, "unit": 1.0, "city": 1.0},
              person_post="account_manager"),
    Indicator("cases", lazy_gettext("Cases"), lazy_gettext("cases"),
              lazy_gettext("Cases filed in the period, by case type"),
              lazy_gettext("Monopoly system (专卖): cases"), cases, direction=LOWER,
              person_post="inspector"),
    Indicator("purification", lazy_gettext("Market purification rate"), "%",
              lazy_gettext("Inspected retailers without a violation or case ÷ inspected "
                           "retailers"),
              lazy_gettext("Monopoly system (专卖): inspections and cases"), purification,
              target={"person": 0.95, "unit": 0.95, "city": 0.95}, person_post="inspector",
              bounded=True),
    Indicator("on_time", lazy_gettext("Delivery on-time rate"), "%",
              lazy_gettext("Deliveries signed for on the planned day ÷ deliveries planned"),
              lazy_gettext("Logistics system (物流): deliveries"), on_time,
              target={"person": 0.98, "unit": 0.98, "city": 0.98}, direction=HIGHER,
              person_post="deliveryman", bounded=True),
)


@hookimpl
def portal_indicators(app: Flask) -> Iterable[Indicator]:
    return INDICATORS


@hookimpl
def portal_indicator_jobs(app: Flask, session: Session, day: date) -> None:
    """The integrity stars are refreshed with the daily snapshots."""
    from connectors.stars import StarRule, recompute

    recompute(session, StarRule.from_settings(app.extensions["portal"].settings), day)


@hookimpl
def portal_demo_data(session: Session, seed: int) -> None:
    from connectors.kpi_demo import generate

    generate(session, seed)
