"""The office-affairs pages, mounted at ``/affairs/``: rooms and bookings, vehicle requests,
business trips. A refused action re-renders its page with the reason and the status (409 for
an overlap or a stale form, 422 for a bad period); 403 and 404 use the portal's error page."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import or_, select
from sqlalchemy.orm.exc import StaleDataError

from portal.toolkit import (
    OrgUnit,
    Person,
    Principal,
    current_principal,
    db_session,
    error_page,
    gettext,
    login_required,
)
from portlets.affairs import service
from portlets.affairs.errors import AffairsError, Forbidden, Invalid, NotFound
from portlets.affairs.models import Booking, Room, Trip, Vehicle, VehicleRequest
from portlets.affairs.periods import parse_day, parse_moment, parse_time

bp = Blueprint("affairs", __name__, url_prefix="/affairs", template_folder="templates")



def _me() -> Principal:
    principal = current_principal()
    assert principal is not None
    return principal


@bp.app_template_filter("affairs_status")
def _status_filter(status: str) -> str:
    labels = {"pending": gettext("Pending"), "approved": gettext("Approved"),
              "rejected": gettext("Rejected"), "dispatched": gettext("Dispatched"),
              "cancelled": gettext("Called off")}
    return labels.get(status, status)


@bp.app_template_filter("affairs_action")
def _action_filter(action: str) -> str:
    """A history line's verb: 提交申请, 批准, 不批准, 派车, 取消."""
    labels = {"requested": gettext("Requested"), "approved": gettext("Approved it"),
              "rejected": gettext("Rejected it"), "dispatched": gettext("Dispatched a vehicle"),
              "cancelled": gettext("Called it off")}
    return labels.get(action, action)


def _names(ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    return dict(db_session().execute(select(Person.id, Person.display_name)
                                      .where(Person.id.in_(wanted))).all())  # type: ignore[arg-type]


def _failed(exc: AffairsError) -> None:
    db_session().rollback()
    if isinstance(exc, Forbidden | NotFound):
        raise exc


# --- rooms -----------------------------------------------------------------------------------


def _rooms_page(day: date, error: str = "", status: int = 200,
                form: dict[str, str] | None = None) -> Any:
    s = db_session()
    rooms = list(s.scalars(select(Room).where(Room.active.is_(True)).order_by(Room.name)))
    start = datetime.combine(day, datetime.min.time())
    bookings = list(s.scalars(select(Booking).where(
        Booking.cancelled.is_(False), Booking.start_at < start + timedelta(days=1),
        Booking.end_at > start).order_by(Booking.start_at)))
    by_room: dict[int, list[Booking]] = {}
    for b in bookings:
        by_room.setdefault(b.room_id, []).append(b)
    me = _me()
    return render_template(
        "affairs/rooms.html", day=day, rooms=rooms, by_room=by_room, error=error,
        names=_names({b.booker_id for b in bookings}), form=form or {},
        may_cancel=lambda b: b.booker_id == me.person_id or service.is_office(me),
        prev_day=day - timedelta(days=1), next_day=day + timedelta(days=1)), status


@bp.route("/")
@login_required
def index() -> Any:
    return redirect(url_for("affairs.rooms"))


@bp.route("/rooms")
@login_required
def rooms() -> Any:
    raw = request.args.get("day", "")
    try:
        day = parse_day(raw, gettext("Day")) if raw else date.today()
    except Invalid as exc:
        return _rooms_page(date.today(), exc.message, exc.status)
    return _rooms_page(day)


@bp.route("/rooms/book", methods=["POST"])
@login_required
def book() -> Any:
    s = db_session()
    f = request.form
    form = {k: f.get(k, "") for k in ("room", "day", "start", "end", "title")}
    day = date.today()
    try:
        day = parse_day(form["day"], gettext("Day"))
        start = datetime.combine(day, parse_time(form["start"], gettext("Start")))
        end = datetime.combine(day, parse_time(form["end"], gettext("End")))
        if not form["room"].isdigit():
            raise Invalid(gettext("Choose a room."))
        booking = service.book(s, _me(), int(form["room"]), form["title"], start, end)
        s.commit()
    except AffairsError as exc:
        _failed(exc)
        return _rooms_page(day, exc.message, exc.status, form)
    flash(gettext("Room booked: %(title)s, %(start)s–%(end)s.", title=booking.title,
                  start=booking.start_at.strftime("%m-%d %H:%M"),
                  end=booking.end_at.strftime("%H:%M")), "info")
    return redirect(url_for("affairs.rooms", day=day.isoformat()))


@bp.route("/bookings/<int:booking_id>/cancel", methods=["POST"])
@login_required
def cancel_booking(booking_id: int) -> Any:
    s = db_session()
    try:
        booking = service.cancel_booking(s, _me(), booking_id)
        s.commit()
    except AffairsError as exc:
        _failed(exc)
        return _rooms_page(date.today(), exc.message, exc.status)
    flash(gettext("Booking cancelled."), "info")
    return redirect(url_for("affairs.rooms", day=booking.start_at.date().isoformat()))


# --- vehicles --------------------------------------------------------------------------------


def _vehicles_page(error: str = "", status: int = 200,
                   form: dict[str, str] | None = None) -> Any:
    s = db_session()
    me = _me()
    mine = list(s.scalars(select(VehicleRequest).where(VehicleRequest.requester_id ==
                                                       me.person_id)
                          .order_by(VehicleRequest.start_at.desc()).limit(50)))
    office = []
    if service.is_office(me):
        office = list(s.scalars(select(VehicleRequest).where(or_(
            VehicleRequest.status.in_(("pending", "approved")),
            VehicleRequest.end_at >= datetime.now() - timedelta(days=1)))
            .order_by(VehicleRequest.start_at).limit(100)))
    vehicles = list(s.scalars(select(Vehicle).where(Vehicle.active.is_(True))
                              .order_by(Vehicle.plate)))
    return render_template(
        "affairs/vehicles.html", mine=mine, office=office, vehicles=vehicles,
        plates={v.id: v.plate for v in vehicles}, error=error, form=form or {},
        names=_names({r.requester_id for r in office}), is_office=service.is_office(me)), status


@bp.route("/vehicles")
@login_required
def vehicles() -> Any:
    return _vehicles_page()


@bp.route("/vehicles", methods=["POST"])
@login_required
def request_vehicle() -> Any:
    s = db_session()
    f = request.form
    form = {k: f.get(k, "") for k in ("destination", "purpose", "passengers", "start", "end")}
    try:
        if not form["passengers"].strip().isdigit():
            raise Invalid(gettext("Passengers must be between 1 and 50."))
        service.request_vehicle(s, _me(), form["destination"], form["purpose"],
                                int(form["passengers"]),
                                parse_moment(form["start"], gettext("Start")),
                                parse_moment(form["end"], gettext("End")))
        s.commit()
    except AffairsError as exc:
        _failed(exc)
        return _vehicles_page(exc.message, exc.status, form)
    flash(gettext("Vehicle request sent to the office."), "info")
    return redirect(url_for("affairs.vehicles"))


def _vehicle_page(request_id: int, error: str = "", status: int = 200) -> Any:
    """One vehicle request: its fields, state, history and what *I* may do with it now."""
    s = db_session()
    me = _me()
    req = service.load_request(s, me, request_id)
    log = service.history(s, req)
    office = service.is_office(me)
    vehicle = s.get(Vehicle, req.vehicle_id) if req.vehicle_id else None
    vehicles = list(s.scalars(select(Vehicle).where(Vehicle.active.is_(True))
                              .order_by(Vehicle.plate))) \
        if office and req.status == "approved" else []
    return render_template(
        "affairs/vehicle.html", r=req, log=log, vehicle=vehicle, vehicles=vehicles,
        error=error, may_decide=office and req.status == "pending",
        may_dispatch=office and req.status == "approved",
        may_cancel=req.requester_id == me.person_id and
        req.status in ("pending", "approved", "dispatched"),
        names=_names({req.requester_id, req.approver_id, *(e.actor_id for e in log)})), status


@bp.route("/vehicles/<int:request_id>")
@login_required
def vehicle(request_id: int) -> Any:
    return _vehicle_page(request_id)


def _from_detail() -> bool:
    """Whether the form was sent from a record's own page (answer there, not in the list)."""
    return request.form.get("back") == "detail"


@bp.route("/vehicles/<int:request_id>/<action>", methods=["POST"])
@login_required
def act_vehicle(request_id: int, action: str) -> Any:
    if action not in ("approve", "reject", "dispatch", "cancel"):
        raise NotFound(gettext("No such action."))
    s = db_session()
    me = _me()
    f = request.form
    try:
        req = service.load_request(s, me, request_id)
        service.check_version(req, f.get("version", ""))
        if action in ("approve", "reject"):
            service.decide_vehicle(s, me, req, action == "approve", f.get("comment", ""))
        elif action == "dispatch":
            vehicle = f.get("vehicle", "")
            if not vehicle.isdigit():
                raise Invalid(gettext("Choose a vehicle."))
            service.dispatch(s, me, req, int(vehicle), f.get("driver", ""))
        else:
            service.cancel_vehicle(s, me, req)
        s.commit()
    except StaleDataError:
        s.rollback()
        stale = gettext("Somebody changed this request after you opened it; look at it again.")
        return _vehicle_page(request_id, stale, 409) if _from_detail() else \
            _vehicles_page(stale, 409)
    except AffairsError as exc:
        _failed(exc)
        return _vehicle_page(request_id, exc.message, exc.status) if _from_detail() else \
            _vehicles_page(exc.message, exc.status)
    flash(gettext("Vehicle request updated."), "info")
    if _from_detail():
        return redirect(url_for("affairs.vehicle", request_id=request_id))
    return redirect(url_for("affairs.vehicles"))


# --- trips -----------------------------------------------------------------------------------


def _trips_page(error: str = "", status: int = 200, form: dict[str, str] | None = None) -> Any:
    s = db_session()
    me = _me()
    mine = list(s.scalars(select(Trip).where(Trip.traveller_id == me.person_id)
                          .order_by(Trip.start_on.desc()).limit(50)))
    waiting = list(s.scalars(select(Trip).where(Trip.status == "pending",
                                                Trip.unit_id.in_(me.managed_units),
                                                Trip.traveller_id != me.person_id)
                             .order_by(Trip.start_on))) if me.managed_units else []
    return render_template("affairs/trips.html", mine=mine, waiting=waiting, error=error,
                           form=form or {}, names=_names({t.traveller_id for t in waiting})), \
        status


@bp.route("/trips")
@login_required
def trips() -> Any:
    return _trips_page()


@bp.route("/trips", methods=["POST"])
@login_required
def request_trip() -> Any:
    s = db_session()
    f = request.form
    form = {k: f.get(k, "") for k in ("destination", "purpose", "start", "end")}
    try:
        start = parse_day(form["start"], gettext("First day"))
        end = parse_day(form["end"], gettext("Last day"))
        service.request_trip(s, _me(), form["destination"], form["purpose"],
                             datetime.combine(start, datetime.min.time()),
                             datetime.combine(end, datetime.min.time()))
        s.commit()
    except AffairsError as exc:
        _failed(exc)
        return _trips_page(exc.message, exc.status, form)
    flash(gettext("Trip request sent to the head of your unit."), "info")
    return redirect(url_for("affairs.trips"))


def _trip_page(trip_id: int, error: str = "", status: int = 200) -> Any:
    """One business trip: its fields, state, history and whether *I* may decide it."""
    s = db_session()
    me = _me()
    trip = service.load_trip(s, me, trip_id)
    log = service.history(s, trip)
    unit = s.get(OrgUnit, trip.unit_id) if trip.unit_id else None
    return render_template(
        "affairs/trip.html", t=trip, log=log, unit=unit, error=error,
        may_decide=trip.status == "pending" and service.may_decide_trip(me, trip),
        names=_names({trip.traveller_id, trip.approver_id, *(e.actor_id for e in log)})), \
        status


@bp.route("/trips/<int:trip_id>")
@login_required
def trip(trip_id: int) -> Any:
    return _trip_page(trip_id)


@bp.route("/trips/<int:trip_id>/<action>", methods=["POST"])
@login_required
def act_trip(trip_id: int, action: str) -> Any:
    if action not in ("approve", "reject"):
        raise NotFound(gettext("No such action."))
    s = db_session()
    me = _me()
    try:
        trip = service.load_trip(s, me, trip_id)
        service.check_version(trip, request.form.get("version", ""))
        service.decide_trip(s, me, trip, action == "approve", request.form.get("comment", ""))
        s.commit()
    except StaleDataError:
        s.rollback()
        stale = gettext("Somebody changed this request after you opened it; look at it again.")
        return _trip_page(trip_id, stale, 409) if _from_detail() else _trips_page(stale, 409)
    except AffairsError as exc:
        _failed(exc)
        return _trip_page(trip_id, exc.message, exc.status) if _from_detail() else \
            _trips_page(exc.message, exc.status)
    flash(gettext("Trip request updated."), "info")
    if _from_detail():
        return redirect(url_for("affairs.trip", trip_id=trip_id))
    return redirect(url_for("affairs.trips"))


@bp.errorhandler(AffairsError)
def _affairs_error(exc: AffairsError) -> Any:
    """403 / 404 outside an action's own handling: the portal's error page."""
    db_session().rollback()
    return error_page(exc.status, exc.message)
