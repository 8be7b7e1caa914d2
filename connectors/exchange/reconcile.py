"""Reconciliation by sample (样本比对): pick N customers, read their current records from each
source, convert them with the same mapping the sync uses, and compare field by field with what
the portal holds for that source (and, for the fields the source owns, the merged record)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connectors.base import Connector, SourceUnavailable
from connectors.mapping import Malformed
from connectors.models import FieldValue
from connectors.sync.apply import lookups_for, text
from portal.toolkit import Customer


@dataclass(frozen=True)
class Mismatch:
    source: str
    customer_id: int
    customer: str
    field: str
    in_source: str | None
    in_portal: str | None


@dataclass
class Reconciliation:
    sampled: int
    compared: int
    mismatches: list[Mismatch]
    errors: list[str]


def sample_ids(session: Session, n: int, seed: int | None = None) -> list[int]:
    """*n* random customer ids (by id range, so it stays cheap on a million rows)."""
    low, high = session.execute(select(func.min(Customer.id), func.max(Customer.id))).one()
    if low is None:
        return []
    rng = random.Random(seed)
    wanted: set[int] = set()
    for _ in range(n * 4):
        if len(wanted) >= n:
            break
        start = rng.randint(low, high)
        found = session.scalar(select(Customer.id).where(Customer.id >= start)
                               .order_by(Customer.id).limit(1))
        if found is not None:
            wanted.add(found)
    return sorted(wanted)


def reconcile(session: Session, conns: Mapping[str, Connector], customer_ids: list[int]
              ) -> Reconciliation:
    customers = list(session.scalars(select(Customer).where(Customer.id.in_(customer_ids))))
    result = Reconciliation(sampled=len(customers), compared=0, mismatches=[], errors=[])
    lookups = lookups_for(session)
    held: dict[tuple[int, str, str], str | None] = {
        (fv.customer_id, fv.source, fv.field): fv.value
        for fv in session.scalars(select(FieldValue).where(
            FieldValue.customer_id.in_(customer_ids)))}
    for name, conn in conns.items():
        for stream in conn.spec.streams:
            if not stream.current or not stream.fields:
                continue
            keys = {str(getattr(c, stream.match.name)): c for c in customers}
            try:
                rows = conn.current(stream, list(keys))
            except SourceUnavailable as exc:
                result.errors.append(str(exc))
                continue
            for key, c in keys.items():
                row = rows.get(key)
                if row is None:
                    result.mismatches.append(Mismatch(name, c.id, c.name, "*",
                                                      None, key))
                    continue
                for spec in stream.fields:
                    result.compared += 1
                    try:
                        value = text(spec.convert(row, lookups))
                    except Malformed as exc:
                        value = f"⚠ {exc}"
                    # An owned field is compared with the merged record the portal shows; a
                    # field kept for comparison only with this source's last value.
                    portal = text(getattr(c, spec.name)) if spec.owner else held.get(
                        (c.id, name, spec.name), text(getattr(c, spec.name)))
                    if value != portal:
                        result.mismatches.append(Mismatch(name, c.id, c.name, spec.name,
                                                          value, portal))
    return result
