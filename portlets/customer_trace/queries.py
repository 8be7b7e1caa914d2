"""What the trace area reads: scoped customer search and one customer's whole trace.

Search stays on indexes and stops at one page: licence numbers, customer codes and names by
prefix (a range on their btree indexes, walked in order), and on PostgreSQL names by any part
through the trigram index this plugin's migrations create and tune.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, extract, func, select, text
from sqlalchemy.orm import Session

from connectors.models import Case, Delivery, FieldChange, LicenseEvent, Purchase
from connectors.stars import history as star_history
from connectors.view import ViewField, customer_view
from portal.toolkit import Customer, OrgUnit, Person, Principal, customer_scope, prefix_match

MAX_RESULTS = 50
#: The order of a page of "name holds the part" that may use the trigram index only.
TRIGRAM = object()
#: Three letters, digits or characters in a row: pg_trgm can make a trigram of the part.
TRIGRAM_WORD = re.compile(r"[^\W_]{3}")
TIMELINE = 100
DELIVERIES = 30
STARS = 12


def _escape(q: str) -> str:
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(session: Session, principal: Principal, q: str, unit_id: int | None,
           scope: list[int] | None = None) -> tuple[list[Hit], bool]:
    """Customers in *principal*'s scope matching *q*; (rows, more than shown).

    Licence-number hits come first in licence order, then customer-code hits in code order,
    then names starting with *q* in name order, then names holding *q* elsewhere. Each kind is
    its own statement that walks its own index and stops after one page: one ``OR`` sorted by
    name had to read and sort every match (100,000 customers share a 7-digit licence prefix
    among a million, 66,000 names hold 永兴).

    *scope* is ``customer_scope`` when the caller has it already.
    """
    if principal.is_admin and unit_id is None:
        scope = None  # every customer: no filter at all
    else:
        scope = customer_scope(session, principal) if scope is None else scope
        if unit_id is not None:
            scope = [u for u in scope if u == unit_id]
        if not scope:
            return [], False
    if not q:
        rows, more = _page(session, scope, None, Customer.name)
        return _hits(session, rows), more
    parts: list[tuple[ColumnElement[bool], Any]] = [
        (prefix_match(Customer.license_no, q), Customer.license_no),
        (prefix_match(Customer.customer_code, q), Customer.customer_code)]
    if not q.isdigit():
        parts.append((prefix_match(Customer.name, q), Customer.name))
        # No order: any page of the matches (see _page), through the trigram index when the
        # part has a trigram.
        parts.append((_contains(session, q), TRIGRAM if TRIGRAM_WORD.search(q) else None))
    found: dict[int, Any] = {}
    more = False
    for where, order in parts:
        if more and len(found) >= MAX_RESULTS:
            break  # a page is full and there is more: the other kinds would not be shown
        rows, over = _page(session, scope, where, order)
        more = more or over
        for r in rows:
            found.setdefault(r.id, r)
    return _hits(session, list(found.values())[:MAX_RESULTS]), more or len(found) > MAX_RESULTS


def _hits(session: Session, rows: list[Any]) -> list[Hit]:
    """The rows with their unit's name (one statement for all the kinds' pages)."""
    units = dict(session.execute(select(OrgUnit.id, OrgUnit.name).where(
        OrgUnit.id.in_({r.org_unit_id for r in rows}))).all()) if rows else {}
    return [Hit(r.id, r.name, r.license_no, r.customer_code, r.status, r.grade,
                units.get(r.org_unit_id, "")) for r in rows]


def _contains(session: Session, q: str) -> ColumnElement[bool]:
    """The name holds *q* anywhere: the trigram GIN index on PostgreSQL, a scan on SQLite."""
    pattern = f"%{_escape(q)}%"
    if session.get_bind().dialect.name == "postgresql":
        return Customer.name.ilike(pattern, escape="\\")
    return Customer.name.like(pattern, escape="\\")


@dataclass(frozen=True)
class Hit:
    """One customer found, with its unit's name."""

    id: int
    name: str
    license_no: str
    customer_code: str
    status: str
    grade: int
    unit: str


def _page(session: Session, scope: list[int] | None, where: ColumnElement[bool] | None,
          order: Any) -> tuple[list[Any], bool]:
    """One page (and whether there is more) of the customers in *scope* matching *where*,
    in *order*; ``None`` or ``TRIGRAM``: any page, then sorted by name here."""
    # No join and no second sort key: the plan is then the index walked in order under a
    # LIMIT whatever the planner guesses about how many rows match (a prefix range is often
    # guessed at one row, and a join + sort of every match looked as cheap).
    stmt = select(Customer.id, Customer.name, Customer.license_no, Customer.customer_code,
                  Customer.status, Customer.grade, Customer.org_unit_id)
    if scope is not None:
        # With the trigram index, the unit is a filter on the rows it finds: "+ 0" keeps the
        # planner from ANDing in a bitmap of the unit's 250,000 customers (10 ms).
        unit = Customer.org_unit_id + 0 if order is TRIGRAM else Customer.org_unit_id
        stmt = stmt.where(unit.in_(scope))
    if where is not None:
        stmt = stmt.where(where)
    if order is None or order is TRIGRAM:
        # Any page of the matches, sorted here: sorting them all in SQL means reading every
        # match from the heap (the trigram index only points at rows), thousands for a
        # common part; unordered, the scan stops at the first page.
        with _trigram_plan(session, order is TRIGRAM):
            rows = sorted(session.execute(stmt.limit(MAX_RESULTS + 1)),
                          key=lambda r: (r.name, r.id))
    else:
        rows = list(session.execute(stmt.order_by(order).limit(MAX_RESULTS + 1)))
    return rows[:MAX_RESULTS], len(rows) > MAX_RESULTS


@contextmanager
def _trigram_plan(session: Session, wanted: bool) -> Iterator[None]:
    """Bitmap scans only (the trigram index) for the statement run inside, on PostgreSQL.

    Under a LIMIT without ORDER BY the planner takes a sequential scan (or a walk of the
    unit index) that "stops at the first page" whenever it guesses a part of a name common;
    its guess for ``%part%`` is often ten times too high, and a rare part in a county then
    reads 200,000 rows (400 ms) instead of a few hundred through the trigram index. A part
    too short for a trigram (one or two characters) cannot use that index: it is left to
    the planner.
    """
    if not wanted or session.get_bind().dialect.name != "postgresql":
        yield
        return
    session.execute(text("SELECT set_config('enable_seqscan', 'off', true), "
                         "set_config('enable_indexscan', 'off', true)"))
    try:
        yield
    finally:
        session.execute(text("SELECT set_config(name, reset_val, true) FROM pg_settings "
                             "WHERE name IN ('enable_seqscan', 'enable_indexscan')"))


def scope_units(session: Session, principal: Principal, scope: list[int] | None = None
                ) -> list[Any]:
    """The city and county units of *principal*'s scope (``customer_scope`` if given)."""
    scope = customer_scope(session, principal) if scope is None else scope
    return list(session.execute(select(OrgUnit.id, OrgUnit.name).where(
        OrgUnit.id.in_(scope), OrgUnit.kind.in_(("city", "county"))).order_by(OrgUnit.path)))


def may_see(session: Session, principal: Principal, customer: Customer) -> bool:
    if principal.is_admin:  # customer_scope is every unit: no need to read them
        return True
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
    # Summed per month in the database: five years of weekly orders are 60 rows, not 260.
    year = extract("year", Purchase.ordered_on)
    month = extract("month", Purchase.ordered_on)
    months = [(f"{int(y):04d}-{int(m):02d}", int(c or 0), round(float(a or 0), 2))
              for y, m, c, a in session.execute(
                  select(year, month, func.sum(Purchase.cartons), func.sum(Purchase.amount))
                  .where(Purchase.customer_id == cid, Purchase.ordered_on >= since)
                  .group_by(year, month).order_by(year, month))]
    staff_ids = [customer.inspector_id, customer.account_manager_id, customer.deliveryman_id]
    timeline = list(session.scalars(select(FieldChange).where(FieldChange.customer_id == cid)
                                    .order_by(FieldChange.changed_at.desc(),
                                              FieldChange.id.desc()).limit(TIMELINE)))
    ids = {int(v) for fc in timeline for v in (fc.old, fc.new)
           if fc.field.endswith("_id") and v and v.isdigit()}
    view = customer_view(session, customer)
    ids |= {int(v) for f in view if f.name.endswith("_id")
            for _s, v in f.by_source if v and v.isdigit()}
    # The three staff and every person the timeline and the sources name: one statement.
    persons = {p.id: p for p in session.scalars(select(Person).where(
        Person.id.in_(ids | {i for i in staff_ids if i is not None})))}
    people = {pid: p.display_name for pid, p in persons.items() if pid in ids}
    return Trace(
        customer=customer, view=view,
        staff=[(role, persons.get(pid) if pid is not None else None)
               for role, pid in zip(("inspector", "account_manager", "deliveryman"), staff_ids,
                                    strict=True)],
        months=months,
        cases=list(session.scalars(select(Case).where(Case.customer_id == cid)
                                   .order_by(Case.filed_on.desc()))),
        licence=list(session.scalars(select(LicenseEvent).where(LicenseEvent.customer_id == cid)
                                     .order_by(LicenseEvent.occurred_on.desc(),
                                               LicenseEvent.id.desc()))),
        deliveries=list(session.scalars(select(Delivery).where(Delivery.customer_id == cid)
                                        .order_by(Delivery.planned_on.desc(),
                                                  Delivery.id.desc()).limit(DELIVERIES))),
        timeline=timeline, people=people, stars=star_history(session, cid, STARS),
    )


def recent(days: int, today: date | None = None) -> date:
    return (today or date.today()) - timedelta(days=days)
