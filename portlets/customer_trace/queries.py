"""What the trace area reads: scoped customer search and one customer's whole trace.

Search stays on indexes: licence numbers and customer codes by prefix (a range on their
unique indexes), names by prefix or, on PostgreSQL, by any part through the trigram index
this plugin's migration creates.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session

from connectors.models import Case, Delivery, FieldChange, LicenseEvent, Purchase
from connectors.stars import history as star_history
from connectors.view import ViewField, customer_view
from portal.toolkit import Customer, OrgUnit, Person, Principal, customer_scope, prefix_match

MAX_RESULTS = 50
TIMELINE = 100
DELIVERIES = 30
STARS = 12


def _name_match(session: Session, q: str) -> ColumnElement[bool]:
    if session.get_bind().dialect.name == "postgresql":
        return Customer.name.ilike(f"%{_escape(q)}%", escape="\\")  # trigram GIN index
    return or_(prefix_match(Customer.name, q),
               Customer.name.like(f"%{_escape(q)}%", escape="\\"))


def _escape(q: str) -> str:
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(session: Session, principal: Principal, q: str, unit_id: int | None
           ) -> tuple[list[Any], bool]:
    """Customers in *principal*'s scope matching *q*; (rows, more than shown)."""
    scope = customer_scope(session, principal)
    if unit_id is not None:
        scope = [u for u in scope if u == unit_id]
    if not scope:
        return [], False
    where: ColumnElement[bool] = Customer.org_unit_id.in_(scope)
    if q:
        terms = [prefix_match(Customer.license_no, q), prefix_match(Customer.customer_code, q)]
        if not q.isdigit():
            terms.append(_name_match(session, q))
        where = where & or_(*terms) if terms else false()
    order: Any = Customer.name
    if q and not q.isdigit() and session.get_bind().dialect.name == "postgresql":
        # Not the name index's order: walking it and filtering "%part%" reads most of a million
        # rows for a rare part; the trigram index finds the few matches, then they are sorted.
        order = Customer.name.concat("")
    rows = list(session.execute(
        select(Customer.id, Customer.name, Customer.license_no, Customer.customer_code,
               Customer.status, Customer.grade, OrgUnit.name.label("unit"))
        .join(OrgUnit, OrgUnit.id == Customer.org_unit_id)
        .where(where).order_by(order, Customer.id).limit(MAX_RESULTS + 1)))
    return rows[:MAX_RESULTS], len(rows) > MAX_RESULTS


def scope_units(session: Session, principal: Principal) -> list[Any]:
    scope = customer_scope(session, principal)
    return list(session.execute(select(OrgUnit.id, OrgUnit.name).where(
        OrgUnit.id.in_(scope), OrgUnit.kind.in_(("city", "county"))).order_by(OrgUnit.path)))


def may_see(session: Session, principal: Principal, customer: Customer) -> bool:
    if principal.person_id in (customer.inspector_id, customer.account_manager_id,
                               customer.deliveryman_id):
        return True
    return customer.org_unit_id in customer_scope(session, principal)


@dataclass
class Trace:
    customer: Customer
    view: list[ViewField]
    staff: list[tuple[str, Person | None]]
    months: list[tuple[str, int, float]]
    cases: list[Case]
    licence: list[LicenseEvent]
    deliveries: list[Delivery]
    timeline: list[FieldChange]
    people: dict[int, str]
    stars: list[Any] = field(default_factory=list)  # integrity stars, newest first


def trace(session: Session, customer: Customer, today: date | None = None) -> Trace:
    today = today or date.today()
    cid = customer.id
    since = date(today.year - 5, today.month, 1)
    months: OrderedDict[str, list[float]] = OrderedDict()
    for ordered_on, cartons, amount in session.execute(
            select(Purchase.ordered_on, Purchase.cartons, Purchase.amount)
            .where(Purchase.customer_id == cid, Purchase.ordered_on >= since)
            .order_by(Purchase.ordered_on)):
        bucket = months.setdefault(ordered_on.strftime("%Y-%m"), [0, 0.0])
        bucket[0] += cartons
        bucket[1] += float(amount or 0)
    staff_ids = [customer.inspector_id, customer.account_manager_id, customer.deliveryman_id]
    persons = {p.id: p for p in session.scalars(select(Person).where(
        Person.id.in_([i for i in staff_ids if i is not None])))}
    timeline = list(session.scalars(select(FieldChange).where(FieldChange.customer_id == cid)
                                    .order_by(FieldChange.changed_at.desc(),
                                              FieldChange.id.desc()).limit(TIMELINE)))
    ids = {int(v) for fc in timeline for v in (fc.old, fc.new)
           if fc.field.endswith("_id") and v and v.isdigit()}
    view = customer_view(session, customer)
    ids |= {int(v) for f in view if f.name.endswith("_id")
            for _s, v in f.by_source if v and v.isdigit()}
    people = dict(session.execute(select(Person.id, Person.display_name).where(
        Person.id.in_(ids))).all()) if ids else {}
    return Trace(
        customer=customer, view=view,
        staff=[(role, persons.get(pid) if pid is not None else None)
               for role, pid in zip(("inspector", "account_manager", "deliveryman"), staff_ids,
                                    strict=True)],
        months=[(m, int(c), round(a, 2)) for m, (c, a) in months.items()],
        cases=list(session.scalars(select(Case).where(Case.customer_id == cid)
                                   .order_by(Case.filed_on.desc()))),
        licence=list(session.scalars(select(LicenseEvent).where(LicenseEvent.customer_id == cid)
                                     .order_by(LicenseEvent.occurred_on.desc(),
                                               LicenseEvent.id.desc()))),
        deliveries=list(session.scalars(select(Delivery).where(Delivery.customer_id == cid)
                                        .order_by(Delivery.planned_on.desc(),
                                                  Delivery.id.desc()).limit(DELIVERIES))),
        timeline=timeline, people=people, stars=star_history(session, cid)[:STARS],
    )


def recent(days: int, today: date | None = None) -> date:
    return (today or date.today()) - timedelta(days=days)
