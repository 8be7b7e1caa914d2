"""Applying one batch of source rows inside one transaction.

Everything a batch changes — customer fields, per-source values, field history, records,
outbox events, notices, quarantined rows — is written in the caller's transaction together
with the watermark, so a batch is all there or not there at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from connectors.labels import FIELD_LABELS
from connectors.mapping import CUSTOMER_FIELDS, FieldSpec, Lookups, Malformed, StreamSpec
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
from portal.toolkit import (
    Customer,
    Notification,
    OrgUnit,
    Person,
    insert_rows,
    notify,
    notify_many,
    update_rows,
)

RECORD_MODELS: dict[str, type[Any]] = {"license_event": LicenseEvent, "case": Case,
                                       "purchase": Purchase, "delivery": Delivery}
STAFF = ("inspector_id", "account_manager_id", "deliveryman_id")
#: A coded event that a changed field may make more precise (a 变更 that moves the shop is an
#: address change for the delivery route).
REFINABLE = frozenset({None, "LICENSE_CHANGED"})
TRACE_LINK = "/p/customer_trace/c/{id}"
#: The customer columns a batch reads: its keys and every field a source may feed.
CUSTOMER_COLUMNS = ("id", "license_no", "customer_code", *sorted(CUSTOMER_FIELDS - {
    "license_no", "customer_code"}))


class CustomerLike(Protocol):
    """What a change notice needs of a customer: an ORM ``Customer`` or a batch's row."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def license_no(self) -> str: ...


class _Customer:
    """A customer row as a batch sees it: plain attributes (``CUSTOMER_COLUMNS``), changed in
    place and written back by ``update_customers`` — one statement per batch and set of
    changed columns, where ORM objects cost a tracked object and an ``UPDATE`` each."""

    id: int
    name: str
    license_no: str
    status: str

    def __init__(self, row: Mapping[str, Any]) -> None:
        self.__dict__.update(row)


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
        self.savepoints = False  # a savepoint per row: the batch is being applied again

    # ------------------------------------------------------------------ prefetch
    def _prefetch(self, rows: Sequence[Mapping[str, Any]]) -> None:
        st = self.stream
        keys = {str(r[st.match.column]).strip() for r in rows if r.get(st.match.column)}
        self.customers: dict[str, _Customer] = {}
        self.by_id: dict[int, _Customer] = {}
        self.dirty: dict[int, set[str]] = {}  # customer id → columns changed, not written
        self.notices: list[Notification] = []
        self._texts: dict[str | int, str] = {}
        self._load_customers(st.match.name, sorted(keys))
        self._prefetch_lookups(rows)
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

    def _load_customers(self, by: str, keys: Sequence[Any]) -> None:
        table = Customer.__table__
        for chunk in _chunks(list(keys), 500):
            for row in self.s.execute(select(*(table.c[c] for c in CUSTOMER_COLUMNS))
                                      .where(table.c[by].in_(chunk))).mappings():
                c = _Customer(row)
                self.customers[getattr(c, self.stream.match.name)] = self.by_id[c.id] = c

    def _prefetch_lookups(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """The batch's staff numbers and unit codes, resolved in one query per kind."""
        st = self.stream
        specs = [f for f in (st.match, *st.fields, *st.record_fields) if f.codes is None]
        for kind, model, code_column in (("person", Person, Person.username),
                                         ("org_unit", OrgUnit, OrgUnit.code)):
            codes = sorted({str(v) for f in specs if f.type == kind for r in rows
                            if (v := _raw(f, r)) is not None})
            found: dict[str, int | None] = dict.fromkeys(codes)
            for chunk in _chunks(codes, 500):
                found.update((code, pid) for code, pid in self.s.execute(
                    select(code_column, model.id).where(code_column.in_(chunk))))
            self.lookups.remember(kind, found)

    def _load_values(self, customer_ids: Sequence[int]) -> None:
        fv = FieldValue.__table__.c  # plain columns: no ORM loading for ten thousand rows
        for chunk in _chunks(list(customer_ids), 500):
            for cid, name, value, position, synced_at in self.s.execute(select(
                    fv.customer_id, fv.field, fv.value, fv.position, fv.synced_at).where(
                    fv.customer_id.in_(chunk), fv.source == self.source)):
                self.values[(cid, name)] = _Value(value, position, synced_at, stored=True)

    # ------------------------------------------------------------------ rows
    def apply_all(self, rows: Sequence[Mapping[str, Any]], savepoints: bool = False) -> None:
        self.savepoints = savepoints
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
                # Without savepoints a malformed row raised before changing anything; with
                # them, its savepoint is gone and what it changed in memory must go too.
                if savepoints:
                    self._forget_pending()
                self.quarantine(row, str(exc))
            except Exception as exc:
                if not savepoints:
                    raise
                self._forget_pending()
                self.quarantine(row, _db_reason(exc))

    def _write_pending(self) -> None:
        """Customer fields, field values, records, history and change notices of the rows
        applied since the last call, in bulk."""
        if self.dirty:
            groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for cid, cols in self.dirty.items():
                key = tuple(sorted(cols))
                c = self.by_id[cid]
                groups.setdefault(key, []).append(
                    {"id": cid, **{col: getattr(c, col) for col in key}})
            for cols, changed_rows in groups.items():
                update_customers(self.s, cols, changed_rows)
            self.dirty = {}
        new, changed = [], []
        for (cid, name), v in self.values.items():
            if v.dirty:
                (changed if v.stored else new).append({
                    "customer_id": cid, "field": name, "source": self.source,
                    "value": v.value, "position": v.position, "synced_at": v.synced_at})
                v.stored, v.dirty = True, False
        insert_rows(self.s, FieldValue.__table__, new)
        update_rows(self.s, FieldValue.__table__, ("customer_id", "field", "source"),
                    ("value", "position", "synced_at"), changed)
        if self.new_records and not self.savepoints:  # nobody asks for their ids
            insert_rows(self.s, RECORD_MODELS[self.stream.record or ""].__table__,
                        list(self.new_records.values()))
            self.new_records = {}
        if self.new_records:
            model = RECORD_MODELS[self.stream.record or ""]
            for row in self.s.execute(insert(model).returning(
                    model.id, model.source_key, sort_by_parameter_order=True),
                    list(self.new_records.values())):
                # Loaded again only if a later row of the batch changes it.
                self.records[row.source_key] = row.id
            self.new_records = {}
        insert_rows(self.s, FieldChange.__table__, self.changes)
        self.changes = []
        if self.notices:
            notify_many(self.s, self.notices)
            self.notices = []

    def _forget_pending(self) -> None:
        """A row failed after changing values in memory (a savepoint rolled back): read the
        values of what it touched again, as the database has them."""
        dirty = {cid for (cid, _f), v in self.values.items() if v.dirty}
        self.values = {k: v for k, v in self.values.items() if k[0] not in dirty}
        self.changes, self.notices = [], []
        touched = sorted(self.dirty)
        self.dirty = {}
        for cid in touched:
            del self.customers[getattr(self.by_id.pop(cid), self.stream.match.name)]
        self._load_customers("id", touched)
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
            notice = change_notification(customer, event, self.source, changes, occurred,
                                         self.link, translate=self._translate)
            if notice is not None:
                self.notices.append(notice)

    def _translate(self, message: Any) -> str:
        """A message in the default language, translated once per batch (the lazy messages
        are module constants, so their identity is a key)."""
        key = message if isinstance(message, str) else id(message)
        if key not in self._texts:
            self._texts[key] = str(message)
        return self._texts[key]

    def _set(self, customer: _Customer, name: str, value: Any) -> None:
        setattr(customer, name, value)
        self.dirty.setdefault(customer.id, set()).add(name)

    def _apply_fields(self, customer: _Customer, values: Mapping[str, tuple[Any, Any]],
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
            self._set(customer, name, value)
            changes[name] = (old, value)
        if changes.keys() & set(STAFF) and customer.status == "PENDING" and _has_staff(customer):
            wanted = self.s.scalar(select(FieldValue.value).where(
                FieldValue.customer_id == customer.id, FieldValue.field == "status")
                .order_by(FieldValue.synced_at.desc()).limit(1))
            if wanted == "ACTIVE":
                self._set(customer, "status", "ACTIVE")
                changes["status"] = ("PENDING", "ACTIVE")
        return changes

    def _apply_record(self, customer: _Customer, key: str, values: Mapping[str, Any]) -> bool:
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


def tell(session: Session, customer: CustomerLike, event: str, source: str,
         changes: Mapping[str, tuple[Any, Any]] | None = None, occurred: date | None = None,
         link: str = TRACE_LINK, note: str = "") -> bool:
    """The change event: a notification of kind ``customer.<event>`` to the people the matrix
    names, written to the outbox with the change (``notify``). Returns whether anybody was
    told."""
    notice = change_notification(customer, event, source, changes, occurred, link, note)
    if notice is None:
        return False  # nobody to tell (no staff yet): the change is still in the timeline
    notify(session, notice)
    return True


def change_notification(customer: CustomerLike, event: str, source: str,
                        changes: Mapping[str, tuple[Any, Any]] | None = None,
                        occurred: date | None = None, link: str = TRACE_LINK, note: str = "",
                        translate: Callable[[Any], str] = str) -> Notification | None:
    """The notification of a change event, ``None`` when the matrix names nobody. Its
    ``params`` carry the customer and the event for channels with templates (SMS) and for
    plugins that react to customer changes. *translate* renders the lazy messages (a batch
    caches them)."""
    changes = changes or {}
    people = recipients(event, {col: getattr(customer, col) for col in STAFF})
    if not people:
        return None
    title = translate(MATRIX[event][1]) % {"name": customer.name,
                                          "license_no": customer.license_no}
    body = "；".join(f"{translate(FIELD_LABELS.get(f, f))}：{text(o) or '—'} → {text(n) or '—'}"
                    for f, (o, n) in changes.items() if f not in STAFF)
    head = f"{customer.name}（{customer.license_no}）{note}"
    return Notification(
        kind=f"customer.{event.lower()}", title=title[:200],
        body=(head + (f"\n{body}" if body else ""))[:2000],
        link=link.format(id=customer.id), recipients=people,
        params={"customer_id": str(customer.id), "license_no": customer.license_no,
                "event": event, "source": source, "occurred_on": text(occurred) or ""})


def update_customers(session: Session, columns: Sequence[str],
                     rows: Sequence[Mapping[str, Any]]) -> None:
    """Write *columns* of many customers (each row has ``id`` and those columns);
    ``updated_at`` follows its ``onupdate``."""
    update_rows(session, Customer.__table__, ("id",), columns, rows)


def _raw(spec: FieldSpec, row: Mapping[str, Any]) -> Any:
    try:
        return spec.raw(row)
    except Malformed:
        return None  # quarantined when the row itself is applied


def _has_staff(customer: _Customer) -> bool:
    return all(getattr(customer, col) is not None for col in STAFF)


def _db_reason(exc: BaseException) -> str:
    msg = str(getattr(exc, "orig", exc)).strip().splitlines()
    return ("rejected by the portal database: " + (msg[0] if msg else type(exc).__name__))[:500]


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]
