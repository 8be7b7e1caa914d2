"""Retail customers (零售客户) and their three staff (三员)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Model
from portal.models.org import OrgUnit, Person

CUSTOMER_STATUSES = ("PENDING", "ACTIVE", "SUSPENDED", "EXPIRED", "CANCELLED", "REVOKED")
#: The three staff of every active customer, by the column that holds each.
STAFF_ROLES = {
    "inspector": "inspector_id",
    "account_manager": "account_manager_id",
    "deliveryman": "deliveryman_id",
}


class Customer(Model):
    """One licensed retailer. An active customer has exactly one of each of the three staff:
    one column per role makes "one" structural and the CHECK makes "exactly" hold in the
    database itself; ``portal staff-report`` finds staff that hold the wrong post or left."""

    __tablename__ = "customer"
    __table_args__ = (
        CheckConstraint(
            "status <> 'ACTIVE' OR (inspector_id IS NOT NULL AND account_manager_id IS NOT NULL"
            " AND deliveryman_id IS NOT NULL)",
            name="active_has_three_staff",
        ),
        CheckConstraint("grade BETWEEN 1 AND 30", name="grade_range"),
        # The customer distribution counts a unit's active customers by grade and format on
        # every render: from this index alone, without reading the rows (migration 0004).
        Index("ix_customer_unit_status_grade_format", "org_unit_id", "status", "grade",
              "business_format"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    license_no: Mapped[str] = mapped_column(String(12), unique=True)
    customer_code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    operator_name: Mapped[str] = mapped_column(String(50), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    business_format: Mapped[str] = mapped_column(String(20), default="便利店")
    market_type: Mapped[str] = mapped_column(String(10), default="城网")
    grade: Mapped[int] = mapped_column(Integer, default=14)
    credit_level: Mapped[str] = mapped_column(String(4), default="AA")
    phone: Mapped[str | None] = mapped_column(String(20))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="ACTIVE", index=True)
    license_valid_to: Mapped[date | None] = mapped_column(Date)
    #: Route codes of the three source systems: 稽查线路, 营销线路, 送货线路.
    inspection_route: Mapped[str | None] = mapped_column(String(24), index=True)
    sales_route: Mapped[str | None] = mapped_column(String(24), index=True)
    delivery_route: Mapped[str | None] = mapped_column(String(24), index=True)
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    account_manager_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    deliveryman_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime, server_default=func.now(), onupdate=func.now()
    )

    org_unit: Mapped[OrgUnit] = relationship()
    inspector: Mapped[Person | None] = relationship(foreign_keys=[inspector_id])
    account_manager: Mapped[Person | None] = relationship(foreign_keys=[account_manager_id])
    deliveryman: Mapped[Person | None] = relationship(foreign_keys=[deliveryman_id])

    @property
    def grade_label(self) -> str:
        return f"D{self.grade}"
