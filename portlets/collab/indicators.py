"""Collaboration figures for the indicators plugin: open and overdue items, mean handling
time and mean rating, per handler, unit and city (formulas in docs/indicators.md).

Past periods are reconstructed from the item's own times (submitted, finished, due), so a
recompute of an old month gives the same figures; the holder is the item's current one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from portal.indicators import unit_rollup
from portal.toolkit import LOWER, Indicator, Period, Person, Value, hookimpl, lazy_gettext
from portlets.collab.models import WorkItem


def _end(period: Period) -> datetime:
    return datetime.combine(period.end + timedelta(days=1), time())


def _aggregate(session: Session, rows: Iterable[tuple[int | None, int | None, float]],
               mean: bool) -> Iterable[Value]:
    """Sum (or average) *rows* of (holder, holder unit, number) per person, unit, city."""
    city, rollup = unit_rollup(session)
    person_unit = dict(session.execute(select(Person.id, Person.org_unit_id)).all())
    acc: dict[tuple[str, int], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for person, unit, number in rows:
        unit = unit or person_unit.get(person)
        keys = []
        if person is not None:
            keys.append(("person", person))
        if unit is not None:
            keys.append(("unit", rollup.get(unit, unit)))
        if city is not None:
            keys.append(("city", city))
        for key in keys:
            acc[key][0] += number
            acc[key][1] += 1
    if not mean and city is not None:
        acc.setdefault(("city", city), [0.0, 0.0])  # nothing open in the city is a zero
    for (level, sid), (total, n) in acc.items():
        if mean:
            yield Value(level, sid, total / n, total, n)
        else:
            yield Value(level, sid, total)


def _open_at(end: datetime) -> Any:
    return and_(WorkItem.submitted_at.is_not(None), WorkItem.submitted_at < end,
                or_(WorkItem.finished_at.is_(None), WorkItem.finished_at >= end))


def open_items(session: Session, period: Period) -> Iterable[Value]:
    end = _end(period)
    rows = session.execute(select(WorkItem.handler_person_id, WorkItem.handler_unit_id)
                           .where(_open_at(end))).all()
    return _aggregate(session, ((p, u, 1.0) for p, u in rows), mean=False)


def overdue_items(session: Session, period: Period) -> Iterable[Value]:
    end = _end(period)
    rows = session.execute(select(WorkItem.handler_person_id, WorkItem.handler_unit_id)
                           .where(_open_at(end), WorkItem.due_at < end)).all()
    return _aggregate(session, ((p, u, 1.0) for p, u in rows), mean=False)


def _finished_in(period: Period) -> Any:
    return and_(WorkItem.finished_at >= datetime.combine(period.start, time()),
                WorkItem.finished_at < _end(period))


def handling_hours(session: Session, period: Period) -> Iterable[Value]:
    rows = session.execute(select(WorkItem.handler_person_id, WorkItem.handler_unit_id,
                                  WorkItem.submitted_at, WorkItem.finished_at)
                           .where(_finished_in(period), WorkItem.submitted_at.is_not(None)))
    return _aggregate(session, ((p, u, (f - s).total_seconds() / 3600) for p, u, s, f in rows),
                      mean=True)


def rating(session: Session, period: Period) -> Iterable[Value]:
    rows = session.execute(select(WorkItem.handler_person_id, WorkItem.handler_unit_id,
                                  WorkItem.rating_score)
                           .where(_finished_in(period), WorkItem.rating_score.is_not(None)))
    return _aggregate(session, ((p, u, float(r)) for p, u, r in rows), mean=True)


SOURCE = lazy_gettext("Collaboration: work items")
Compute = Callable[[Session, Period], Iterable[Value]]
INDICATORS = (
    Indicator("collab_open", lazy_gettext("Open collaboration items"), lazy_gettext("items"),
              lazy_gettext("Items held and not finished at the end of the period"), SOURCE,
              open_items, direction=LOWER),
    Indicator("collab_overdue", lazy_gettext("Overdue collaboration items"),
              lazy_gettext("items"),
              lazy_gettext("Open items past their deadline at the end of the period"), SOURCE,
              overdue_items, direction=LOWER,
              target={"person": 0, "unit": 0, "city": 0}),
    Indicator("collab_hours", lazy_gettext("Mean handling time"), lazy_gettext("hours"),
              lazy_gettext("Mean hours from submission to finish, items finished in the "
                           "period"), SOURCE, handling_hours, direction=LOWER,
              target={"person": 24, "unit": 24, "city": 24}),
    Indicator("collab_rating", lazy_gettext("Collaboration rating"), lazy_gettext("points"),
              lazy_gettext("Mean rating score of items rated in the period"), SOURCE, rating,
              target={"person": 90, "unit": 90, "city": 90}),
)


@hookimpl
def portal_indicators() -> Iterable[Indicator]:
    return INDICATORS
