"""Office affairs, the rules: who may book, request, approve and dispatch, and the checks that
keep a room or a vehicle from being given twice.

Every function works in the caller's transaction and never commits: the view commits once, so
a refused action leaves nothing behind.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.toolkit import Person, PostAssignment, Principal, gettext
from portlets.affairs.errors import Conflict, Forbidden, Invalid, NotFound
from portlets.affairs.models import Booking, LogEntry, Room, Trip, Vehicle, VehicleRequest
from portlets.affairs.periods import check_order


def is_office(principal: Principal) -> bool:
    """The office (办公室) approves and dispatches vehicles and manages bookings."""
    return "office" in principal.posts or principal.is_admin


def _name(session: Session, person_id: int | None) -> str:
    if person_id is None:
        return ""
    return session.scalar(select(Person.display_name).where(Person.id == person_id)) or ""


def log(session: Session, subject: VehicleRequest | Trip, me: Principal, action: str,
        note: str = "") -> None:
    """A line of the record's history, written with the change it describes."""
    session.add(LogEntry(subject_type="vehicle" if isinstance(subject, VehicleRequest)
                         else "trip", subject_id=subject.id, at=datetime.now(),
                         actor_id=me.person_id, action=action, note=note))


def history(session: Session, subject: VehicleRequest | Trip) -> list[LogEntry]:
    kind = "vehicle" if isinstance(subject, VehicleRequest) else "trip"
    return list(session.scalars(select(LogEntry).where(
        LogEntry.subject_type == kind, LogEntry.subject_id == subject.id)
        .order_by(LogEntry.at, LogEntry.id)))


def _text(value: str, label: str, limit: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise Invalid(gettext("%(field)s is required.", field=label))
    if len(value) > limit:
        raise Invalid(gettext("%(field)s is longer than %(n)d characters.", field=label,
                              n=limit))
    return value


def check_version(record: VehicleRequest | Trip, version: str) -> None:
    """The form was rendered from this version; an older one is a 409, not a silent overwrite."""
    if str(record.version) != str(version).strip():
        raise Conflict(gettext("Somebody changed this request after you opened it; "
                               "look at it again."))


# --- meeting rooms ---------------------------------------------------------------------------


def _lock(session: Session, model: type[Room] | type[Vehicle], row_id: int) -> None:
    """Write to the room's or vehicle's row first: PostgreSQL locks the row, SQLite takes the
    database's write lock, so the overlap check below sees every booking committed before it
    and nobody can commit one between the check and the insert.

    ``synchronize_session=False``: nothing in the session reads ``lock_version``, and the
    default ("evaluate") walks every object of the session's identity map on each call — in
    a session holding many rows that walk was most of a booking's time."""
    result = session.execute(update(model).where(model.id == row_id, model.active.is_(True))
                             .values(lock_version=model.lock_version + 1)
                             .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise NotFound(gettext("No such room or vehicle."))


def overlapping_booking(session: Session, room_id: int, start: datetime, end: datetime,
                        ignore: int | None = None) -> Booking | None:
    query = select(Booking).where(Booking.room_id == room_id, Booking.cancelled.is_(False),
                                  Booking.start_at < end, Booking.end_at > start)
    if ignore is not None:
        query = query.where(Booking.id != ignore)
    return session.scalars(query.order_by(Booking.start_at).limit(1)).first()


def book(session: Session, me: Principal, room_id: int, title: str, start: datetime,
         end: datetime, *, now: datetime | None = None) -> Booking:
    """Book *room_id* for [start, end); an overlap is a 409 naming the booking in the way."""
    title = _text(title, gettext("Meeting subject"), 120)
    check_order(start, end)
    if end <= (now or datetime.now()):
        raise Invalid(gettext("That time is already over."))
    # The lock's UPDATE also checks that the room exists and is in use (404 otherwise): no
    # SELECT of the room before it; its name is read only for a refusal.
    try:
        _lock(session, Room, room_id)
    except NotFound:
        raise NotFound(gettext("No such room.")) from None
    clash = overlapping_booking(session, room_id, start, end)
    if clash is not None:
        raise Conflict(gettext(
            "%(room)s is already booked from %(start)s to %(end)s for “%(title)s” "
            "(booked by %(who)s).", room=session.scalar(select(Room.name).where(
                Room.id == room_id)), start=clash.start_at.strftime("%m-%d %H:%M"),
            end=clash.end_at.strftime("%H:%M"), title=clash.title,
            who=_name(session, clash.booker_id)))
    booking = Booking(room_id=room_id, title=title, start_at=start, end_at=end,
                      booker_id=me.person_id, cancelled=False, created_at=datetime.now())
    session.add(booking)
    session.flush()
    return booking


def cancel_booking(session: Session, me: Principal, booking_id: int) -> Booking:
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise NotFound(gettext("No such booking."))
    if booking.booker_id != me.person_id and not is_office(me):
        raise Forbidden(gettext("Only the person who booked the room or the office may "
                                "cancel it."))
    if booking.cancelled:
        raise Conflict(gettext("This booking was already cancelled."))
    booking.cancelled = True
    return booking


# --- vehicles --------------------------------------------------------------------------------


def request_vehicle(session: Session, me: Principal, destination: str, purpose: str,
                    passengers: int, start: datetime, end: datetime) -> VehicleRequest:
    check_order(start, end)
    if not 1 <= passengers <= 50:
        raise Invalid(gettext("Passengers must be between 1 and 50."))
    req = VehicleRequest(requester_id=me.person_id,
                         destination=_text(destination, gettext("Destination"), 120),
                         purpose=_text(purpose, gettext("Purpose"), 200), passengers=passengers,
                         start_at=start, end_at=end, status="pending", driver="", comment="",
                         created_at=datetime.now())
    session.add(req)
    session.flush()
    log(session, req, me, "requested")
    return req


def may_see_request(me: Principal, req: VehicleRequest) -> bool:
    return req.requester_id == me.person_id or is_office(me)


def load_request(session: Session, me: Principal, request_id: int) -> VehicleRequest:
    """A vehicle request the requester and the office may see: 404 when there is none,
    403 for anyone else."""
    req = session.get(VehicleRequest, request_id)
    if req is None:
        raise NotFound(gettext("No such vehicle request."))
    if not may_see_request(me, req):
        raise Forbidden(gettext("Only the requester and the office may see this vehicle "
                                "request."))
    return req


def decide_vehicle(session: Session, me: Principal, req: VehicleRequest, approve: bool,
                   comment: str = "") -> None:
    if not is_office(me):
        raise Forbidden(gettext("Only the office approves vehicle requests."))
    if req.status != "pending":
        raise Conflict(gettext("This request was already decided."))
    req.status = "approved" if approve else "rejected"
    req.approver_id = me.person_id
    req.comment = _text(comment, gettext("Comment"), 500, required=not approve)
    log(session, req, me, req.status, req.comment)


def overlapping_dispatch(session: Session, vehicle_id: int, start: datetime, end: datetime,
                         ignore: int) -> VehicleRequest | None:
    return session.scalars(select(VehicleRequest).where(
        VehicleRequest.vehicle_id == vehicle_id, VehicleRequest.status == "dispatched",
        VehicleRequest.start_at < end, VehicleRequest.end_at > start,
        VehicleRequest.id != ignore).limit(1)).first()


def dispatch(session: Session, me: Principal, req: VehicleRequest, vehicle_id: int,
             driver: str) -> None:
    """Give an approved request a vehicle and driver; a vehicle already out then is a 409."""
    if not is_office(me):
        raise Forbidden(gettext("Only the office dispatches vehicles."))
    if req.status != "approved":
        raise Conflict(gettext("Only an approved request can be dispatched."))
    vehicle = session.get(Vehicle, vehicle_id)
    if vehicle is None or not vehicle.active:
        raise Invalid(gettext("Choose a vehicle."))
    _lock(session, Vehicle, vehicle_id)
    clash = overlapping_dispatch(session, vehicle_id, req.start_at, req.end_at, req.id)
    if clash is not None:
        raise Conflict(gettext(
            "%(plate)s is already dispatched from %(start)s to %(end)s (to %(where)s).",
            plate=vehicle.plate, start=clash.start_at.strftime("%m-%d %H:%M"),
            end=clash.end_at.strftime("%m-%d %H:%M"), where=clash.destination))
    req.vehicle_id = vehicle_id
    req.driver = _text(driver or vehicle.driver, gettext("Driver"), 40)
    req.status = "dispatched"
    log(session, req, me, "dispatched", f"{vehicle.plate} · {req.driver}")


def cancel_vehicle(session: Session, me: Principal, req: VehicleRequest) -> None:
    if req.requester_id != me.person_id:
        raise Forbidden(gettext("Only the requester may cancel a vehicle request."))
    if req.status not in ("pending", "approved", "dispatched"):
        raise Conflict(gettext("This request is already closed."))
    req.status = "cancelled"
    log(session, req, me, "cancelled")


# --- business trips --------------------------------------------------------------------------


def request_trip(session: Session, me: Principal, destination: str, purpose: str,
                 start: datetime, end: datetime) -> Trip:
    if end < start:
        raise Invalid(gettext("The last day (%(end)s) must not be before the first day "
                              "(%(start)s).", end=end.date().isoformat(),
                              start=start.date().isoformat()))
    trip = Trip(traveller_id=me.person_id, unit_id=me.org_unit_id,
                destination=_text(destination, gettext("Destination"), 120),
                purpose=_text(purpose, gettext("Purpose"), 200), start_on=start, end_on=end,
                status="pending", comment="", created_at=datetime.now())
    session.add(trip)
    session.flush()
    log(session, trip, me, "requested")
    return trip


def trip_approvers(session: Session, unit_id: int | None) -> list[int]:
    """The heads of the traveller's unit (those whose post there manages it)."""
    if unit_id is None:
        return []
    return list(session.scalars(select(PostAssignment.person_id).where(
        PostAssignment.org_unit_id == unit_id, PostAssignment.manages.is_(True))))


def may_decide_trip(me: Principal, trip: Trip) -> bool:
    return trip.traveller_id != me.person_id and (
        me.is_admin or (trip.unit_id is not None and trip.unit_id in me.managed_units))


def may_see_trip(me: Principal, trip: Trip) -> bool:
    """The traveller and whoever may decide it (the unit's heads, administrators)."""
    return trip.traveller_id == me.person_id or may_decide_trip(me, trip)


def load_trip(session: Session, me: Principal, trip_id: int) -> Trip:
    """404 when there is no such trip, 403 for someone who may not see it."""
    trip = session.get(Trip, trip_id)
    if trip is None:
        raise NotFound(gettext("No such business trip."))
    if not may_see_trip(me, trip):
        raise Forbidden(gettext("Only the traveller and the head of their unit may see this "
                                "business trip."))
    return trip


def decide_trip(session: Session, me: Principal, trip: Trip, approve: bool,
                comment: str = "") -> None:
    if not may_decide_trip(me, trip):
        raise Forbidden(gettext("Only the head of the traveller's unit approves this trip."))
    if trip.status != "pending":
        raise Conflict(gettext("This trip was already decided."))
    trip.status = "approved" if approve else "rejected"
    trip.approver_id = me.person_id
    trip.comment = _text(comment, gettext("Comment"), 500, required=not approve)
    log(session, trip, me, trip.status, trip.comment)
