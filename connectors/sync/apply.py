"""Applying one batch of source rows inside one transaction.

Everything a batch changes — customer fields, per-source values, field history, records,
outbox events, notices, quarantined rows — is written in the caller's transaction together
with the watermark, so a batch is all there or not there at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from connectors.labels import FIELD_LABELS
from connectors.mapping import Lookups, Malformed, StreamSpec
from connectors.models import (
    Case,
    Delivery,
    ExchangeLog,
    FieldChange,
    FieldValue,
    LicenseEvent,
    Purchase,
)
from connectors.sync.matrix import MATRIX, recipients
from portal.toolkit import Customer, Notification, OrgUnit, Person, notify

RECORD_MODELS: dict[str, type[Any]] = {"license_event": LicenseEvent, "case": Case,
                                       "purchase": Purchase, "delivery": Delivery}
STAFF = ("inspector_id", "account_manager_id", "deliveryman_id")
#: A coded event that a changed field may make more precise (a 变更 that moves the shop is an
#: address change for the delivery route).
REFINABLE = frozenset({None, "LICENSE_CHANGED"})
TRACE_LINK = "/p/customer_trace/c/{id}"


@dataclass
class _Value:
    """A ``FieldValue`` row as the batch sees it: plain data, written in bulk at the end
    (ORM objects cost more to track than the whole rest of a row's work)."""

    value: str | None
    position: int
    synced_at: datetime
    stored: bool
    dirty: bool = False


@dataclass
class BatchResult:
    read: int = 0
    changed: int = 0
    quarantined: int = 0
    events: int = 0
    last_occurred: date | None = None
    reasons: list[str] = field(default_factory=list)


def text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value)[:200]


def lookups_for(session: Session) -> Lookups:
    return Lookups(
        person=lambda code: session.scalar(select(Person.id).where(Person.username == code)),
        org_unit=lambda code: session.scalar(select(OrgUnit.id).where(OrgUnit.code == code)),
    )


class BatchApplier:
    """Applies rows of one stream of one source; one instance per batch and transaction."""

    def __init__(self, session: Session, source: str, stream: StreamSpec, lookups: Lookups,
                 now: datetime | None = None, portal_link: str = TRACE_LINK
                 ) -> None:
        self.s, self.source, self.stream, self.lookups = session, source, stream, lookups
        self.now = now or datetime.now()
        self.link = portal_link
        self.result = BatchResult()

    # ------------------------------------------------------------------ prefetch
    def _prefetch(self, rows: Sequence[Mapping[str, Any]]) -> None:
        st = self.stream
        keys = {str(r[st.match.column]).strip() for r in rows if r.get(st.match.column)}
        column = getattr(Customer, st.match.name)
        self.customers: dict[str, Customer] = {}
        for chunk in _chunks(sorted(keys), 500):
            for c in self.s.scalars(select(Customer).where(column.in_(chunk))):
                self.customers[getattr(c, st.match.name)] = c
        self.values: dict[tuple[int, str], _Value] = {}
        self.changes: list[dict[str, Any]] = []
        if st.fields:
            self._load_values([c.id for c in self.customers.values()])
        self.records: dict[str, Any] = {}
        self.new_records: dict[str, dict[str, Any]] = {}
        if st.record:
            model = RECORD_MODELS[st.record]
            rkeys = sorted({str(r[st.key]) for r in rows if r.get(st.key) not in (None, "")})
            for chunk in _chunks(rkeys, 500):
                for rec in self.s.scalars(select(model).where(
                        model.source == self.source, model.source_key.in_(chunk))):
                    self.records[rec.source_key] = rec

    def _load_values(self, customer_ids: Sequence[int]) -> None:
        for chunk in _chunks(list(customer_ids), 500):
            for cid, name, value, position, synced_at in self.s.execute(select(
                    FieldValue.customer_id, FieldValue.field, FieldValue.value,
                    FieldValue.position, FieldValue.synced_at).where(
                    FieldValue.customer_id.in_(chunk), FieldValue.source == self.source)):
                self.values[(cid, name)] = _Value(value, position, synced_at, stored=True)

    # ------------------------------------------------------------------ rows
    def apply_all(self, rows: Sequence[Mapping[str, Any]], savepoints: bool = False) -> None:
        self._prefetch(rows)
        # One flush per batch (at commit), not one per query: the lookups below read only
        # what was already there before the batch.
        with self.s.no_autoflush:
            self._apply_rows(rows, savepoints)
            self._write_pending()

    def _apply_rows(self, rows: Sequence[Mapping[str, Any]], savepoints: bool) -> None:
        for row in rows:
            self.result.read += 1
            try:
                if savepoints:
                    with self.s.begin_nested():
                        self.apply(row)
                        self._write_pending()
                else:
                    self.apply(row)
            except Malformed as exc:
                self._forget_pending()
                self.quarantine(row, str(exc))
            except Exception as exc:
                if not savepoints:
                    raise
                self._forget_pending()
                self.quarantine(row, _db_reason(exc))

    def _write_pending(self) -> None:
        """Field values and history of the rows applied since the last call, in bulk."""
        new, changed = [], []
        for (cid, name), v in self.values.items():
            if v.dirty:
                (changed if v.stored else new).append({
                    "customer_id": cid, "field": name, "source": self.source,
                    "value": v.value, "position": v.position, "synced_at": v.synced_at})
                v.stored, v.dirty = True, False
        if new:
            self.s.execute(insert(FieldValue), new)
        if changed:
            self.s.execute(update(FieldValue), changed)  # by primary key
        if self.new_records:
            model = RECORD_MODELS[self.stream.record or ""]
            for row in self.s.execute(insert(model).returning(
                    model.id, model.source_key, sort_by_parameter_order=True),
                    list(self.new_records.values())):
                # Loaded again only if a later row of the batch changes it.
                self.records[row.source_key] = row.id
            self.new_records = {}
        if self.changes:
            self.s.execute(insert(FieldChange), self.changes)
            self.changes = []

    def _forget_pending(self) -> None:
        """A row failed after changing values in memory (a savepoint rolled back): read the
        values of what it touched again, as the database has them."""
        dirty = {cid for (cid, _f), v in self.values.items() if v.dirty}
        self.values = {k: v for k, v in self.values.items() if k[0] not in dirty}
        self.changes = []
        for key in self.new_records:
            del self.records[key]
        self.new_records = {}
        self._load_values(sorted(dirty))

    def quarantine(self, row: Mapping[str, Any], reason: str) -> None:
        self.result.quarantined += 1
        self.result.reasons.append(reason)
        self.s.add(ExchangeLog(source=self.source, stream=self.stream.name,
                               record_key=str(row.get(self.stream.key) or "")[:64],
                               status="quarantined", reason=reason[:500],
                               payload={k: text(v) for k, v in row.items()},
                               created_at=self.now))

    def apply(self, row: Mapping[str, Any]) -> None:
        st = self.stream
        # 1. Convert everything first: a malformed row raises before anything is written.
        key = row.get(st.key)
        if key in (None, ""):
            raise Malformed(f"missing key {st.key}")
        try:
            position = int(row[st.position])
        except (KeyError, TypeError, ValueError):
            raise Malformed(f"missing or bad position {st.position}") from None
        match = st.match.convert(row, self.lookups)
        customer = self.customers.get(str(match))
        if customer is None:
            raise Malformed(f"unknown {st.match.name.replace('_', ' ')} {match}")
        values = {f.name: (f, f.convert(row, self.lookups)) for f in st.fields}
        record = {f.name: f.convert(row, self.lookups) for f in st.record_fields}
        coded = st.event.convert(row, self.lookups) if st.event else None
        occurred = st.occurred.convert(row, self.lookups) if st.occurred else None
        if occurred is not None:
            self.result.last_occurred = max(self.result.last_occurred or occurred, occurred)

        # 2. Fields of the merged record, guarded by the source's position.
        changes = self._apply_fields(customer, values, position)
        # 3. The history record (licence event, case, purchase, delivery).
        record_changed = self._apply_record(customer, str(key), record) if st.record else False
        if changes or record_changed:
            self.result.changed += 1
        # 4. Events and notices.
        events: list[str] = []
        if coded in REFINABLE:
            events = list(dict.fromkeys(st.field_events[f] for f in st.field_events
                                        if f in changes))
        if not events and coded and (changes or record_changed):
            events = [coded]
        for name, (old, new) in changes.items():
            tag = st.field_events.get(name) if st.field_events.get(name) in events else None
            self.changes.append({"customer_id": customer.id, "field": name, "old": text(old),
                                 "new": text(new), "source": self.source,
                                 "event": tag or (events[0] if events else coded),
                                 "changed_at": self.now})
        for event in events:
            self.result.events += 1
            tell(self.s, customer, event, self.source, changes, occurred, self.link)

    def _apply_fields(self, customer: Customer, values: Mapping[str, tuple[Any, Any]],
                      position: int) -> dict[str, tuple[Any, Any]]:
        changes: dict[str, tuple[Any, Any]] = {}
        for name, (spec, value) in values.items():
            if value is None:
                continue  # the row does not say: leave the field as it is
            fv = self.values.get((customer.id, name))
            if fv is not None and fv.position >= position:
                continue  # an older change read again (a re-run window): already applied
            if fv is None:
                fv = self.values[(customer.id, name)] = _Value(None, 0, self.now, stored=False)
            fv.value, fv.position, fv.synced_at, fv.dirty = text(value), position, self.now, True
            if not spec.owner:
                continue
            if name == "status" and value == "ACTIVE" and not _has_staff(customer):
                value = "PENDING"  # ACTIVE needs its three staff; settled when they arrive
            old = getattr(customer, name)
            if old == value:
                continue
            setattr(customer, name, value)
            changes[name] = (old, value)
        if changes.keys() & set(STAFF) and customer.status == "PENDING" and _has_staff(customer):
            wanted = self.s.scalar(select(FieldValue.value).where(
                FieldValue.customer_id == customer.id, FieldValue.field == "status")
                .order_by(FieldValue.synced_at.desc()).limit(1))
            if wanted == "ACTIVE":
                customer.status = "ACTIVE"
                changes["status"] = ("PENDING", "ACTIVE")
        return changes

    def _apply_record(self, customer: Customer, key: str, values: Mapping[str, Any]) -> bool:
        rec = self.records.get(key)
        clean = {k: v for k, v in values.items() if v is not None or k in ("closed_on",)}
        if rec is None:  # new: a plain row, inserted in bulk with the batch
            self.records[key] = self.new_records[key] = {
                "customer_id": customer.id, "source": self.source, "source_key": key[:64],
                **clean}
            return True
        if isinstance(rec, int):  # inserted by this batch, changed by a later row
            rec = self.records[key] = self.s.get(RECORD_MODELS[self.stream.record or ""], rec)
        if isinstance(rec, dict):  # new in this batch, and changed again
            changed = any(rec.get(k) != v for k, v in clean.items())
            rec.update(clean)
            return changed
        changed = False
        for k, v in clean.items():
            if getattr(rec, k) != v:
                setattr(rec, k, v)
                changed = True
        return changed


def tell(session: Session, customer: Customer, event: str, source: str,
         changes: Mapping[str, tuple[Any, Any]] | None = None, occurred: date | None = None,
         link: str = TRACE_LINK, note: str = "") -> bool:
    """The change event: a notification of kind ``customer.<event>`` to the people the matrix
    names, written to the outbox with the change (``notify``). Its ``params`` carry the
    customer and the event for channels with templates (SMS) and for plugins that react to
    customer changes. Returns whether anybody was told."""
    changes = changes or {}
    people = recipients(event, {col: getattr(customer, col) for col in STAFF})
    if not people:
        return False  # nobody to tell (no staff yet): the change is still in the timeline
    title = str(MATRIX[event][1]) % {"name": customer.name, "license_no": customer.license_no}
    body = "；".join(f"{_label(f)}：{text(o) or '—'} → {text(n) or '—'}"
                    for f, (o, n) in changes.items() if f not in STAFF)
    head = f"{customer.name}（{customer.license_no}）{note}"
    notify(session, Notification(
        kind=f"customer.{event.lower()}", title=title[:200],
        body=(head + (f"\n{body}" if body else ""))[:2000],
        link=link.format(id=customer.id), recipients=people,
        params={"customer_id": str(customer.id), "license_no": customer.license_no,
                "event": event, "source": source, "occurred_on": text(occurred) or ""}))
    return True


def _label(field_name: str) -> str:
    return str(FIELD_LABELS.get(field_name, field_name))


def _has_staff(customer: Customer) -> bool:
    return all(getattr(customer, col) is not None for col in STAFF)


def _db_reason(exc: BaseException) -> str:
    msg = str(getattr(exc, "orig", exc)).strip().splitlines()
    return ("rejected by the portal database: " + (msg[0] if msg else type(exc).__name__))[:500]


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]
