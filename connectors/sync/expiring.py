"""LICENSE_EXPIRING: no source reports it, the calendar does. Renewal must be applied for at
least 30 days before expiry (办法 第32条), so the inspector and the account manager hear of a
licence when it enters its last ``days`` days — once per licence and expiry date, however often
this runs (the reminder is recorded as a licence event with a unique key)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.labels import FIELD_LABELS
from connectors.models import LicenseEvent
from connectors.sync.apply import tell
from portal.toolkit import Customer

SOURCE = "portal"
EVENT = "LICENSE_EXPIRING"


def remind_expiring(session: Session, today: date | None = None, days: int = 30) -> int:
    """Notify for active licences expiring within *days* not reminded yet; returns how many."""
    today = today or date.today()
    due = list(session.scalars(select(Customer).where(
        Customer.status == "ACTIVE", Customer.license_valid_to >= today,
        Customer.license_valid_to <= today + timedelta(days=days))))
    keys = {c.id: f"EXPIRING:{c.license_no}:{c.license_valid_to}" for c in due}
    done = set(session.scalars(select(LicenseEvent.source_key).where(
        LicenseEvent.source == SOURCE, LicenseEvent.source_key.in_(list(keys.values())))))
    told = 0
    for c in due:
        if keys[c.id] in done:
            continue
        session.add(LicenseEvent(customer_id=c.id, source=SOURCE, source_key=keys[c.id],
                                 event=EVENT, occurred_on=today,
                                 detail=str(c.license_valid_to)))
        told += tell(session, c, EVENT, SOURCE, occurred=today,
                     note=f" {FIELD_LABELS['license_valid_to']}：{c.license_valid_to}")
    return told
