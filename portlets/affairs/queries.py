"""Read-side queries shared by the portlet, the to-do list and the calendar."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.toolkit import Principal
from portlets.affairs.models import Booking, Room, Trip, VehicleRequest
from portlets.affairs.service import is_office


def my_bookings(session: Session, me: Principal, start: datetime, end: datetime,
                limit: int = 200) -> list[Booking]:
    return list(session.scalars(select(Booking).where(
        Booking.booker_id == me.person_id, Booking.cancelled.is_(False),
        Booking.start_at < end, Booking.end_at > start).order_by(Booking.start_at).limit(limit)))


def room_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Room.id, Room.name)).all())  # type: ignore[arg-type]


def my_trips(session: Session, me: Principal, start: datetime, end: datetime,
             limit: int = 100) -> list[Trip]:
    """Trips not rejected whose days touch [start, end) (``end_on`` is the last day)."""
    return list(session.scalars(select(Trip).where(
        Trip.traveller_id == me.person_id, Trip.status.in_(("pending", "approved")),
        Trip.start_on < end, Trip.end_on >= start.replace(hour=0, minute=0))
        .order_by(Trip.start_on).limit(limit)))


def vehicle_requests_for_office(session: Session, me: Principal,
                                limit: int = 50) -> list[VehicleRequest]:
    """Requests waiting on the office: to approve (pending) or to dispatch (approved)."""
    if not is_office(me):
        return []
    return list(session.scalars(select(VehicleRequest).where(
        VehicleRequest.status.in_(("pending", "approved")))
        .order_by(VehicleRequest.start_at).limit(limit)))


def trips_to_approve(session: Session, me: Principal, limit: int = 50) -> list[Trip]:
    if not me.managed_units:
        return []
    return list(session.scalars(select(Trip).where(
        Trip.status == "pending", Trip.unit_id.in_(me.managed_units),
        Trip.traveller_id != me.person_id).order_by(Trip.start_on).limit(limit)))


def pending_counts(session: Session, me: Principal) -> tuple[int, int]:
    """(vehicle requests waiting on the office, trips waiting on this head)."""
    vehicles = session.scalar(select(func.count()).select_from(VehicleRequest).where(
        VehicleRequest.status.in_(("pending", "approved")))) if is_office(me) else 0
    trips = session.scalar(select(func.count()).select_from(Trip).where(
        Trip.status == "pending", Trip.unit_id.in_(me.managed_units),
        Trip.traveller_id != me.person_id)) if me.managed_units else 0
    return int(vehicles or 0), int(trips or 0)
