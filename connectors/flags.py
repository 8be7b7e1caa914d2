"""Flags of "我的客户": what happened to a customer lately, from the synced records."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Integer, bindparam, func, literal, null, select, union_all
from sqlalchemy.orm import Session

from connectors.kpi_models import IntegrityStar
from connectors.models import Case, Delivery, FieldChange
from portal.toolkit import run_prepared

RECENT_DAYS = 30
FINE = ("SIGNED", "PROXY")


def _flags_query() -> Any:
    """The four lookups as one ``UNION ALL``: one round trip and one prebuilt statement (the
    "my customers" window runs it on every request when the portlet cache is off)."""
    ids = bindparam("ids", expanding=True)
    case, change, delivery = Case.__table__.c, FieldChange.__table__.c, Delivery.__table__.c
    star = IntegrityStar.__table__.c
    latest = (select(star.customer_id, func.max(star.id).label("id"))
              .where(star.customer_id.in_(ids)).group_by(star.customer_id).subquery())
    no_stars = null().cast(Integer)
    return union_all(
        select(case.customer_id, literal("recent_case"), no_stars)
        .where(case.customer_id.in_(ids), case.filed_on >= bindparam("since")),
        select(change.customer_id, literal("grade_change"), no_stars)
        .where(change.customer_id.in_(ids), change.field == "grade",
               change.changed_at >= bindparam("since_time")),
        select(delivery.customer_id, literal("delivery_exception"), no_stars)
        .where(delivery.customer_id.in_(ids), delivery.planned_on >= bindparam("since"),
               delivery.sign_status.not_in(FINE)),
        # The integrity stars (issue 9): the latest rating of each customer, "stars:<n>".
        select(star.customer_id, literal("stars"), star.stars)
        .join(latest, latest.c.id == star.id),
    )


FLAGS = _flags_query()


def customer_flags(session: Session, customer_ids: Sequence[int], today: date | None = None,
                   days: int = RECENT_DAYS) -> dict[int, set[str]]:
    """``recent_case``, ``grade_change``, ``delivery_exception`` per customer id, for the last
    *days* days, and ``stars:<n>``, the integrity stars. One query of four indexed parts for
    the whole page of customers."""
    if not customer_ids:
        return {}
    since = (today or date.today()) - timedelta(days=days)
    out: dict[int, set[str]] = {}
    for cid, flag, stars in run_prepared(FLAGS, {
            "ids": list(customer_ids), "since": since,
            "since_time": datetime.combine(since, time())}, session=session):
        out.setdefault(cid, set()).add(flag if stars is None else f"stars:{stars}")
    return out
