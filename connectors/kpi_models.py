"""Tables behind the indicators the connectors own: monthly sales plans (营销), inspections
(专卖 巡查), and the integrity stars history (诚信星级) computed from credit, cases and
purchases."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from connectors.models import Case, Delivery, Purchase
from portal.toolkit import Model

#: The indicators read a period of all customers' records: by day first (migration 0002).
Index("ix_connectors_purchase_day", Purchase.ordered_on)
Index("ix_connectors_delivery_day", Delivery.planned_on)
Index("ix_connectors_case_day", Case.filed_on)


class SalesPlan(Model):
    """The monthly order plan of one account manager (营销's 月度计划), in cartons (条).

    The plan is set per manager; a unit's and the city's plan is the sum of their managers'."""

    __tablename__ = "connectors_sales_plan"
    __table_args__ = (UniqueConstraint("month", "person_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[date] = mapped_column(Date)  # first day of the month
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"),
                                           index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    cartons: Mapped[int] = mapped_column(Integer)


class Inspection(Model):
    """One inspection visit (巡查) of a retailer by an inspector, and whether it found a
    violation; the basis of the market purification rate."""

    __tablename__ = "connectors_inspection"
    __table_args__ = (UniqueConstraint("source", "source_key"),
                      Index("ix_connectors_inspection_day", "inspected_on", "customer_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"),
                                             index=True)
    source: Mapped[str] = mapped_column(String(40))
    source_key: Mapped[str] = mapped_column(String(64))
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    inspected_on: Mapped[date] = mapped_column(Date)
    violation: Mapped[bool] = mapped_column(Boolean, default=False)


class IntegrityStar(Model):
    """A retailer's integrity stars (诚信星级, 1–5) from *since*; a new row only when the
    stars change, so the rows are the history."""

    __tablename__ = "connectors_integrity_star"
    __table_args__ = (Index("ix_connectors_integrity_star_customer", "customer_id", "since"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    stars: Mapped[int] = mapped_column(Integer)
    since: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")
    computed_at: Mapped[datetime] = mapped_column(DateTime)
