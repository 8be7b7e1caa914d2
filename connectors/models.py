"""Tables of the connectors plugin: sync state, the exchange log, and what the sources told us
about each customer (per-field values, field history, licence events, cases, purchases,
deliveries). The core's ``customer`` row stays the one merged record; these explain it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from portal.toolkit import Model


class Watermark(Model):
    """How far one stream of one source has been read. Written in the same transaction as the
    data read up to it, so a sync killed at any instant resumes exactly where it committed."""

    __tablename__ = "connectors_watermark"

    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    stream: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())


class ConnectorState(Model):
    """Health of one source for the status page and the failure alert."""

    __tablename__ = "connectors_state"

    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    lag_seconds: Mapped[int | None] = mapped_column(Integer)
    alerted_at: Mapped[datetime | None] = mapped_column(DateTime)


class ExchangeDay(Model):
    """Exchange-record summary of one source for one day (信息交换平台)."""

    __tablename__ = "connectors_exchange_day"

    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    read: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    max_lag_seconds: Mapped[int] = mapped_column(Integer, default=0)


class ExchangeLog(Model):
    """A row that could not be taken (quarantined, with the reason) or a failed run."""

    __tablename__ = "connectors_exchange_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(40), index=True)
    stream: Mapped[str] = mapped_column(String(40), default="")
    record_key: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(12))  # quarantined | failed
    reason: Mapped[str] = mapped_column(String(500))
    payload: Mapped[dict[str, object] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now(),
                                                 index=True)


class FieldValue(Model):
    """The latest value one source gave for one field of one customer, and when.

    ``position`` is the source's own change sequence: an older change re-read (a backfill
    window run again) never overwrites a newer one, which makes re-runs idempotent.
    """

    __tablename__ = "connectors_field_value"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"),
                                             primary_key=True)
    field: Mapped[str] = mapped_column(String(40), primary_key=True)
    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    synced_at: Mapped[datetime] = mapped_column(DateTime)


class FieldChange(Model):
    """One change of a merged customer field: old → new, which source, when (the timeline)."""

    __tablename__ = "connectors_field_change"
    __table_args__ = (Index("ix_connectors_field_change_customer", "customer_id", "changed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(40))
    old: Mapped[str | None] = mapped_column(String(200))
    new: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(40))
    event: Mapped[str | None] = mapped_column(String(40))
    changed_at: Mapped[datetime] = mapped_column(DateTime)


class LicenseEvent(Model):
    """A licence transaction from 专卖 (new, renew, change, suspend, resume, close...)."""

    __tablename__ = "connectors_license_event"
    __table_args__ = (UniqueConstraint("source", "source_key"),
                      Index("ix_connectors_license_event_customer", "customer_id", "occurred_on"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(40))
    source_key: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(40))
    occurred_on: Mapped[date | None] = mapped_column(Date)
    detail: Mapped[str] = mapped_column(Text, default="")


class Case(Model):
    """An enforcement case (案件) against a customer, as 专卖 last described it."""

    __tablename__ = "connectors_case"
    __table_args__ = (UniqueConstraint("source", "source_key"),
                      Index("ix_connectors_case_customer", "customer_id", "filed_on"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(40))
    source_key: Mapped[str] = mapped_column(String(64))
    case_type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    filed_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    fine: Mapped[float | None] = mapped_column(Numeric(12, 2, asdecimal=False))


class Purchase(Model):
    """An order (订单) of a customer, from 营销."""

    __tablename__ = "connectors_purchase"
    __table_args__ = (UniqueConstraint("source", "source_key"),
                      Index("ix_connectors_purchase_customer", "customer_id", "ordered_on"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(40))
    source_key: Mapped[str] = mapped_column(String(64))
    ordered_on: Mapped[date] = mapped_column(Date)
    cartons: Mapped[int] = mapped_column(Integer, default=0)
    amount: Mapped[float] = mapped_column(Numeric(12, 2, asdecimal=False), default=0)
    #: Cartons of the company's own brands in the order (营销's brand split; market share).
    own_cartons: Mapped[int | None] = mapped_column(Integer)


class Delivery(Model):
    """A delivery (送货) to a customer, from 物流, with its sign status and exception."""

    __tablename__ = "connectors_delivery"
    __table_args__ = (UniqueConstraint("source", "source_key"),
                      Index("ix_connectors_delivery_customer", "customer_id", "planned_on"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(40))
    source_key: Mapped[str] = mapped_column(String(64))
    planned_on: Mapped[date | None] = mapped_column(Date)
    route: Mapped[str] = mapped_column(String(24), default="")
    sign_status: Mapped[str] = mapped_column(String(20), default="")
    exception_note: Mapped[str] = mapped_column(String(200), default="")
