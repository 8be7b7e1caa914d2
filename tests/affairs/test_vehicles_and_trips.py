"""Vehicle requests (request → office approves → dispatch; a vehicle is never dispatched twice
for overlapping times) and business trips (approved by the head of the traveller's unit), with
the refusals: 403 out of turn or unseen, 404 unknown, 409 stale or double, 422 bad periods — on both
databases. Also the to-do items and calendar entries they give."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.toolkit import Principal, calendar_events, todo_items
from portlets.affairs.models import Trip, VehicleRequest
from tests.affairs.conftest import client_for

DAY = date.today() + timedelta(days=3)


def _request(client: FlaskClient, start: str = "08:30", end: str = "17:00",
             day: date = DAY, **extra: str) -> Any:
    return client.post("/affairs/vehicles", data={
        "destination": "海宁市局", "purpose": "市场检查", "passengers": "3",
        "start": f"{day.isoformat()}T{start}", "end": f"{day.isoformat()}T{end}", **extra})


def _version(app: Flask, model: Any, row_id: int) -> str:
    with app.app_context():
        row = app.extensions["portal"].db.session().get(model, row_id)
        assert row is not None
        return str(row.version)


def _ids(app: Flask, model: Any) -> list[int]:
    with app.app_context():
        return list(app.extensions["portal"].db.session().scalars(
            select(model.id).order_by(model.id)))


def _act(client: FlaskClient, app: Flask, kind: str, row_id: int, action: str,
         version: str | None = None, **fields: str) -> Any:
    model = VehicleRequest if kind == "vehicles" else Trip
    return client.post(f"/affairs/{kind}/{row_id}/{action}", data={
        "version": version or _version(app, model, row_id), **fields})


def test_vehicle_request_approve_dispatch_and_no_double_dispatch(aapp: Flask) -> None:
    car = str(aapp.config["TEST_IDS"]["car"])
    zg, km, bg = (client_for(aapp, u) for u in ("zg", "km", "bg"))
    assert _request(zg).status_code == 302
    assert _request(km, "12:00", "18:00").status_code == 302
    first, second = _ids(aapp, VehicleRequest)
    # Only the office approves and dispatches; others may not even see someone else's request.
    assert _act(zg, aapp, "vehicles", first, "approve").status_code == 403
    assert _act(km, aapp, "vehicles", first, "approve").status_code == 403
    assert _act(km, aapp, "vehicles", 9999, "approve", version="1").status_code == 404
    with aapp.test_request_context():
        office = Principal(person_id=aapp.config["TEST_ORG"].people["bg"], username="bg",
                           display_name="孙文员", org_unit_id=None, posts=("office",))
        titles = [i.title for i in todo_items(office) if i.source == "Office affairs"]
        assert len(titles) == 2 and all("Approve vehicle request" in t for t in titles)
    old = _version(aapp, VehicleRequest, first)
    assert _act(bg, aapp, "vehicles", first, "approve", version=old).status_code == 302
    stale = _act(bg, aapp, "vehicles", first, "reject", version=old, comment="x")
    assert stale.status_code == 409 and "after you opened it" in stale.get_data(as_text=True)
    assert _act(bg, aapp, "vehicles", first, "dispatch", vehicle=car).status_code == 302
    assert _act(bg, aapp, "vehicles", second, "approve").status_code == 302
    double = _act(bg, aapp, "vehicles", second, "dispatch", vehicle=car, driver="刘师傅")
    assert double.status_code == 409
    text = double.get_data(as_text=True)
    assert "浙F·A1234" in text and "already dispatched" in text
    assert _act(bg, aapp, "vehicles", second, "dispatch", vehicle="").status_code == 422
    with aapp.app_context():
        s = aapp.extensions["portal"].db.session()
        rows = {r.id: r for r in s.scalars(select(VehicleRequest))}
        assert (rows[first].status, rows[first].driver) == ("dispatched", "陈师傅")
        assert (rows[second].status, rows[second].vehicle_id) == ("approved", None)
    # Rejecting needs a reason; the requester may cancel their own.
    assert _request(zg, "18:00", "20:00").status_code == 302
    third = _ids(aapp, VehicleRequest)[-1]
    assert _act(bg, aapp, "vehicles", third, "reject").status_code == 422
    assert _act(zg, aapp, "vehicles", third, "cancel").status_code == 302
    assert _act(bg, aapp, "vehicles", third, "approve").status_code == 409


def test_bad_vehicle_requests_are_422(aapp: Flask) -> None:
    zg = client_for(aapp, "zg")
    backwards = _request(zg, "17:00", "08:30")
    assert backwards.status_code == 422
    assert "must be after the start" in backwards.get_data(as_text=True)
    assert _request(zg, passengers="0").status_code == 422
    assert _request(zg, destination=" ").status_code == 422
    assert zg.post("/affairs/vehicles", data={"destination": "x", "purpose": "y",
                                              "passengers": "1", "start": "明天",
                                              "end": "后天"}).status_code == 422
    assert _ids(aapp, VehicleRequest) == []


def test_trip_approved_by_the_head_of_the_unit(aapp: Flask) -> None:
    org = aapp.config["TEST_ORG"]
    zg, bm, ld, km = (client_for(aapp, u) for u in ("zg", "bm", "ld", "km"))
    response = zg.post("/affairs/trips", data={"destination": "杭州", "purpose": "省局培训",
                                               "start": DAY.isoformat(),
                                               "end": (DAY + timedelta(days=1)).isoformat()})
    assert response.status_code == 302
    [trip] = _ids(aapp, Trip)
    with aapp.test_request_context():
        head = Principal(person_id=org.people["bm"], username="bm", display_name="吴部长",
                         org_unit_id=org.unit_a, managed_units=(org.unit_a,))
        assert [i.title for i in todo_items(head) if i.source == "Office affairs"] == \
            ["【Approve business trip】杭州"]
        me = Principal(person_id=org.people["zg"], username="zg", display_name="张专管",
                       org_unit_id=org.unit_a)
        start = datetime.combine(DAY, datetime.min.time())
        [event] = calendar_events(me, start - timedelta(days=3), start + timedelta(days=7))
        assert (event.kind, event.all_day, event.end) == ("trip", True,
                                                          start + timedelta(days=2))
    assert _act(km, aapp, "trips", trip, "approve").status_code == 403  # a colleague
    assert _act(ld, aapp, "trips", trip, "approve").status_code == 403  # not this unit's head
    assert _act(bm, aapp, "trips", 9999, "approve", version="1").status_code == 404
    assert _act(zg, aapp, "trips", trip, "approve").status_code == 403  # not one's own
    assert _act(bm, aapp, "trips", trip, "approve", comment="同意").status_code == 302
    assert _act(bm, aapp, "trips", trip, "reject", comment="x").status_code == 409
    assert "Approved" in zg.get("/affairs/trips").get_data(as_text=True)


def test_trip_backwards_dates_are_422(aapp: Flask) -> None:
    zg = client_for(aapp, "zg")
    response = zg.post("/affairs/trips", data={"destination": "杭州", "purpose": "培训",
                                               "start": DAY.isoformat(),
                                               "end": (DAY - timedelta(days=1)).isoformat()})
    assert response.status_code == 422
    assert "must not be before the first day" in response.get_data(as_text=True)
    with aapp.app_context():
        s = aapp.extensions["portal"].db.session()
        assert s.scalar(select(func.count()).select_from(Trip)) == 0
