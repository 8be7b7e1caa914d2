"""Integrity stars (诚信星级, 1–5 per retailer) from credit level, cases and purchases.

The rule (docs/indicators.md; every number is a setting):
stars = base stars of the credit level (STARS_CREDIT_BASE)
        − STARS_CASE_PENALTY × cases filed in the last STARS_CASE_DAYS days
        − STARS_NO_ORDER_PENALTY if no order in the last STARS_NO_ORDER_DAYS days,
clamped to 1…5. A new history row is written only when a customer's stars change; a change
(not the first rating) is a customer change event told to the three staff.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from connectors.kpi_models import IntegrityStar
from connectors.models import Case, FieldChange, Purchase
from connectors.sync.apply import tell
from portal.toolkit import Customer

EVENT = "INTEGRITY_STARS_CHANGED"


@dataclass(frozen=True)
class StarRule:
    base: Mapping[str, int]
    case_days: int = 365
    case_penalty: int = 1
    no_order_days: int = 28
    no_order_penalty: int = 1

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> StarRule:
        base: dict[str, int] = {}
        for item in settings["STARS_CREDIT_BASE"]:
            level, _, stars = str(item).partition("=")
            if not stars.strip().isdigit() or not 1 <= int(stars) <= 5:
                raise ValueError(f"STARS_CREDIT_BASE: {item!r} is not level=1..5")
            base[level.strip()] = int(stars)
        return cls(base, int(settings["STARS_CASE_DAYS"]), int(settings["STARS_CASE_PENALTY"]),
                   int(settings["STARS_NO_ORDER_DAYS"]), int(settings["STARS_NO_ORDER_PENALTY"]))

    def stars(self, credit: str | None, cases: int, last_order: date | None,
              day: date) -> tuple[int, str]:
        """The stars and a short reason (shown in the history)."""
        base = self.base.get((credit or "").strip().upper(), 3)
        reasons = [f"{credit or '?'}:{base}"]
        score = base
        if cases:
            score -= self.case_penalty * cases
            reasons.append(f"cases:{cases}")
        if last_order is None or (day - last_order).days > self.no_order_days:
            score -= self.no_order_penalty
            reasons.append("no-order")
        return max(1, min(5, score)), " ".join(reasons)


def current_stars(session: Session, customer_ids: list[int] | None = None) -> dict[int, int]:
    """The latest stars per customer (all customers, or those given)."""
    latest = (select(IntegrityStar.customer_id, func.max(IntegrityStar.id).label("id"))
              .group_by(IntegrityStar.customer_id))
    if customer_ids is not None:
        latest = latest.where(IntegrityStar.customer_id.in_(customer_ids))
    sub = latest.subquery()
    return dict(session.execute(select(IntegrityStar.customer_id, IntegrityStar.stars)
                                .join(sub, sub.c.id == IntegrityStar.id)).all())


def history(session: Session, customer_id: int, limit: int | None = None
            ) -> list[IntegrityStar]:
    """The customer's stars, newest first (at most *limit*: a page shows the last few)."""
    return list(session.scalars(select(IntegrityStar).where(
        IntegrityStar.customer_id == customer_id).order_by(IntegrityStar.id.desc())
        .limit(limit)))


def recompute(session: Session, rule: StarRule, day: date,
              now: datetime | None = None) -> tuple[int, int]:
    """Rate every customer as of *day*; returns ``(rated for the first time, changed)``."""
    now = now or datetime.now()
    since = day - timedelta(days=rule.case_days)
    case_counts = dict(session.execute(
        select(Case.customer_id, func.count()).where(Case.filed_on > since, Case.filed_on <= day)
        .group_by(Case.customer_id)).all())
    # Only "ordered lately?" matters: read the window on the day index, not every order ever.
    window = day - timedelta(days=rule.no_order_days)
    ordered = set(session.scalars(select(Purchase.customer_id).where(
        Purchase.ordered_on >= window, Purchase.ordered_on <= day).distinct()))
    before = current_stars(session)
    new_rows: list[dict[str, Any]] = []
    changed: list[tuple[int, int | None, int]] = []
    for cid, credit in session.execute(select(Customer.id, Customer.credit_level)):
        stars, reason = rule.stars(credit, case_counts.get(cid, 0),
                                   day if cid in ordered else None, day)
        old = before.get(cid)
        if old == stars:
            continue
        new_rows.append({"customer_id": cid, "stars": stars, "since": day,
                         "reason": reason[:200], "computed_at": now})
        if old is not None:
            changed.append((cid, old, stars))
    for i in range(0, len(new_rows), 5000):
        session.execute(insert(IntegrityStar), new_rows[i:i + 5000])
    customers: dict[int, Customer] = {}
    ids = [cid for cid, _old, _new in changed]
    for i in range(0, len(ids), 1000):
        customers.update((c.id, c) for c in session.scalars(
            select(Customer).where(Customer.id.in_(ids[i:i + 1000]))))
    for cid, old, stars in changed:
        customer = customers.get(cid)
        if customer is None:
            continue
        session.add(FieldChange(customer_id=cid, field="integrity_star", old=str(old),
                                new=str(stars), source="portal", event=EVENT, changed_at=now))
        tell(session, customer, EVENT, "portal", {"integrity_star": (old, stars)}, day)
    return len(new_rows) - len(changed), len(changed)
