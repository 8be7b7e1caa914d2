"""The office-affairs tables (created by the plugin's own migration).

Rooms and vehicles carry a ``lock_version`` that every booking or dispatch bumps first: the
UPDATE takes the row lock (PostgreSQL) or the write lock (SQLite) before the overlap check, so
two people booking the same room at once are serialised and the second one sees the first.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.toolkit import Model


class Room(Model):
    __tablename__ = "affairs_room"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    location: Mapped[str] = mapped_column(String(120), default="")
    capacity: Mapped[int] = mapped_column(Integer, default=10)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    lock_version: Mapped[int] = mapped_column(Integer, default=0)


class Booking(Model):
    """A room held from ``start_at`` to ``end_at`` (end exclusive); ``cancelled`` frees it."""

    __tablename__ = "affairs_booking"
    __table_args__ = (Index("ix_affairs_booking_room_time", "room_id", "start_at", "end_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("affairs_room.id"))
    title: Mapped[str] = mapped_column(String(120))
    start_at: Mapped[datetime] = mapped_column(DateTime)
    end_at: Mapped[datetime] = mapped_column(DateTime)
    booker_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Vehicle(Model):
    __tablename__ = "affairs_vehicle"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plate: Mapped[str] = mapped_column(String(20), unique=True)
    model: Mapped[str] = mapped_column(String(60), default="")
    seats: Mapped[int] = mapped_column(Integer, default=5)
    driver: Mapped[str] = mapped_column(String(40), default="")  # the usual driver
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    lock_version: Mapped[int] = mapped_column(Integer, default=0)


class VehicleRequest(Model):
    """用车申请: pending → approved (office) → dispatched (vehicle + driver); or rejected /
    cancelled. ``version`` guards against acting on a form older than the request."""

    __tablename__ = "affairs_vehicle_request"
    __table_args__ = (Index("ix_affairs_vreq_vehicle_time", "vehicle_id", "start_at", "end_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    destination: Mapped[str] = mapped_column(String(120))
    purpose: Mapped[str] = mapped_column(String(200))
    passengers: Mapped[int] = mapped_column(Integer, default=1)
    start_at: Mapped[datetime] = mapped_column(DateTime)
    end_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("affairs_vehicle.id"))
    driver: Mapped[str] = mapped_column(String(40), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}


class Trip(Model):
    """出差: pending → approved / rejected by the head of the traveller's unit."""

    __tablename__ = "affairs_trip"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    traveller_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    destination: Mapped[str] = mapped_column(String(120))
    purpose: Mapped[str] = mapped_column(String(200))
    start_on: Mapped[datetime] = mapped_column(DateTime)
    end_on: Mapped[datetime] = mapped_column(DateTime)  # the last day, inclusive
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}


class LogEntry(Model):
    """One line of the history of a vehicle request or a trip (申请, 批准, 派车…), shown on
    its page; written by the service in the same transaction as the change."""

    __tablename__ = "affairs_log"
    __table_args__ = (Index("ix_affairs_log_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(12))  # "vehicle" or "trip"
    subject_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    action: Mapped[str] = mapped_column(String(12))  # requested, approved, rejected, …
    note: Mapped[str] = mapped_column(Text, default="")
