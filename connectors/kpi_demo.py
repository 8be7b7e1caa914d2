"""Demo records behind the indicators: thirteen months of orders (one row per customer and
month, with the own-brand split), monthly plans, inspections, cases and deliveries, so every
post's homepage shows real figures before any source system is connected. Rows carry the
source ``demo``; ``portal sim init`` + ``portal sync run`` add the simulated systems' own."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from connectors.kpi_models import Inspection, SalesPlan
from connectors.models import Case, Delivery, Purchase
from portal.indicators import shift
from portal.toolkit import Customer, Person

MONTHS = 13
CASE_TYPES = ("NONLOCAL_PURCHASE", "FAKE", "SMUGGLED", "ILLICIT_CHANNEL", "SALE_TO_MINOR")


def _bulk(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), 5000):
        session.execute(insert(model), rows[i:i + 5000])


def generate(session: Session, seed: int, today: date | None = None,
             months: int = MONTHS) -> None:
    rng = random.Random(seed + 909)
    today = today or date.today()
    first = shift("month", today.replace(day=1), -(months - 1))
    customers = session.execute(select(
        Customer.id, Customer.grade, Customer.account_manager_id, Customer.status)
        .where(Customer.account_manager_id.is_not(None))).all()
    units = dict(session.execute(select(Person.id, Person.org_unit_id)).all())
    purchases, deliveries, inspections, cases = [], [], [], []
    per_manager: dict[tuple[date, int], int] = defaultdict(int)
    for m in range(months):
        month = shift("month", first, m)
        last = min(today, shift("month", month, 1) - timedelta(days=1))
        span = (last - month).days + 1
        season = 1.0 + 0.08 * ((m % 12) in (0, 11))  # the Spring Festival months sell more
        for cid, grade, manager, status in customers:
            if status not in ("ACTIVE", "PENDING") or rng.random() > 0.93:
                continue
            day = month + timedelta(days=rng.randrange(span))
            cartons = max(1, int(grade * 2.2 * season * rng.uniform(0.6, 1.3) * span / 30))
            own = int(cartons * min(0.95, max(0.2, rng.gauss(0.62, 0.12))))
            purchases.append({"customer_id": cid, "source": "demo",
                              "source_key": f"D{month:%Y%m}-{cid}", "ordered_on": day,
                              "cartons": cartons, "own_cartons": own,
                              "amount": round(cartons * rng.uniform(120, 260), 2)})
            per_manager[(month, manager)] += cartons
            deliveries.append({"customer_id": cid, "source": "demo",
                               "source_key": f"D{month:%Y%m}-{cid}",
                               "planned_on": day + timedelta(days=1), "route": "",
                               "sign_status": rng.choices(
                                   ("SIGNED", "PROXY", "REFUSED", "CLOSED_SHOP"),
                                   (97, 2, 0.5, 0.5))[0], "exception_note": ""})
            if rng.random() < 0.3:
                bad = rng.random() < 0.04
                inspections.append({"customer_id": cid, "source": "demo",
                                    "source_key": f"I{month:%Y%m}-{cid}",
                                    "inspector_id": None, "inspected_on": day,
                                    "violation": bad})
                if bad and rng.random() < 0.5:
                    cases.append({"customer_id": cid, "source": "demo",
                                  "source_key": f"C{month:%Y%m}-{cid}",
                                  "case_type": rng.choice(CASE_TYPES), "status": "CLOSED",
                                  "filed_on": day, "closed_on": None, "fine": None})
    plans = []
    for (month, manager), done in per_manager.items():
        full = done if month.month != today.month or month.year != today.year else \
            done * 30 // max(1, today.day)
        plans.append({"month": month, "person_id": manager,
                      "org_unit_id": units.get(manager), "cartons": max(
                          1, int(full * rng.uniform(0.9, 1.12)))})
    _bulk(session, Purchase, purchases)
    _bulk(session, Delivery, deliveries)
    _bulk(session, Inspection, inspections)
    _bulk(session, Case, cases)
    _bulk(session, SalesPlan, [p for p in plans if p["org_unit_id"] is not None])
