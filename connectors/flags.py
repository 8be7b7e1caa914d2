"""Flags of "我的客户": what happened to a customer lately, from the synced records."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.models import Case, Delivery, FieldChange

RECENT_DAYS = 30
FINE = ("SIGNED", "PROXY")


def customer_flags(session: Session, customer_ids: Sequence[int], today: date | None = None,
                   days: int = RECENT_DAYS) -> dict[int, set[str]]:
    """``recent_case``, ``grade_change``, ``delivery_exception`` per customer id, for the last
    *days* days, and ``stars:<n>``, the integrity stars. Four indexed queries for the whole
    page of customers."""
    if not customer_ids:
        return {}
    since = (today or date.today()) - timedelta(days=days)
    out: dict[int, set[str]] = {}
    ids = list(customer_ids)
    for cid in session.scalars(select(Case.customer_id).where(
            Case.customer_id.in_(ids), Case.filed_on >= since)):
        out.setdefault(cid, set()).add("recent_case")
    for cid in session.scalars(select(FieldChange.customer_id).where(
            FieldChange.customer_id.in_(ids), FieldChange.field == "grade",
            FieldChange.changed_at >= datetime.combine(since, time()))):
        out.setdefault(cid, set()).add("grade_change")
    for cid in session.scalars(select(Delivery.customer_id).where(
            Delivery.customer_id.in_(ids), Delivery.planned_on >= since,
            Delivery.sign_status.not_in(FINE))):
        out.setdefault(cid, set()).add("delivery_exception")
    from connectors.stars import current_stars  # integrity stars (issue 9): "stars:<n>"

    for cid, stars in current_stars(session, ids).items():
        out.setdefault(cid, set()).add(f"stars:{stars}")
    return out
