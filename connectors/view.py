"""The unified customer view (统一视图): every merged field with the source it came from, when
it was last synced, and whether the sources disagree about it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import LazyString
from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.labels import FIELD_LABELS
from connectors.models import FieldValue
from connectors.sync.apply import text
from connectors.sync.engine import connectors
from portal.toolkit import Customer

#: The merged record's own columns (the labels also name derived fields such as the stars).
ORDER = tuple(name for name in FIELD_LABELS if hasattr(Customer, name))


@dataclass(frozen=True)
class ViewField:
    name: str
    label: LazyString | str
    value: object
    source: str | None
    synced_at: datetime | None
    conflict: bool
    by_source: tuple[tuple[str, str | None], ...]


def owners() -> dict[str, list[str]]:
    """For each customer field, the sources whose mapping owns it (in file order)."""
    out: dict[str, list[str]] = {}
    for name, conn in connectors(current_app).items():
        for stream in conn.spec.streams:
            for f in stream.fields:
                if f.owner and name not in out.setdefault(f.name, []):
                    out[f.name].append(name)
    return out


def customer_view(session: Session, customer: Customer,
                  fields: Sequence[str] = ORDER) -> list[ViewField]:
    values: dict[str, list[FieldValue]] = {}
    for fv in session.scalars(select(FieldValue).where(FieldValue.customer_id == customer.id)
                              .order_by(FieldValue.synced_at.desc())):
        values.setdefault(fv.field, []).append(fv)
    owned = owners()
    out = []
    for name in fields:
        given = values.get(name, [])
        mine = [fv for fv in given if fv.source in owned.get(name, ())]
        latest = mine[0] if mine else None
        distinct = {fv.value for fv in given if fv.value is not None}
        out.append(ViewField(
            name=name, label=FIELD_LABELS.get(name, name), value=getattr(customer, name),
            source=latest.source if latest else next(iter(owned.get(name, ())), None),
            synced_at=latest.synced_at if latest else None,
            conflict=len(distinct) > 1,
            by_source=tuple((fv.source, fv.value) for fv in sorted(given,
                                                                  key=lambda v: v.source)),
        ))
    return out


__all__ = ["ViewField", "customer_view", "owners", "text"]
