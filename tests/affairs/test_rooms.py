"""Meeting-room booking: overlaps are refused with the booking in the way named (409), edges
touch without clashing, a cancelled booking frees the room, bad periods are 422."""

from __future__ import annotations

import contextlib
import threading
from datetime import date, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal.toolkit import Principal
from portlets.affairs import service
from portlets.affairs.errors import Conflict
from portlets.affairs.models import Booking
from tests.affairs.conftest import client_for

TOMORROW = (date.today() + timedelta(days=1)).isoformat()


def _book(client, room: int, start: str, end: str, title: str = "周例会",
          day: str = TOMORROW):  # type: ignore[no-untyped-def]
    return client.post("/affairs/rooms/book", data={"room": str(room), "day": day,
                                                    "start": start, "end": end,
                                                    "title": title})


def _count(app: Flask) -> int:
    with app.app_context():
        s = app.extensions["portal"].db.session()
        return int(s.scalar(select(func.count()).select_from(Booking).where(
            Booking.cancelled.is_(False))) or 0)


def test_overlap_is_refused_with_the_booking_named(aapp: Flask) -> None:
    room = aapp.config["TEST_IDS"]["room1"]
    zg, km = client_for(aapp, "zg"), client_for(aapp, "km")
    assert _book(zg, room, "09:00", "10:30", "专卖案件研判会").status_code == 302
    clash = _book(km, room, "10:00", "11:00", "客户经理培训")
    assert clash.status_code == 409
    text = clash.get_data(as_text=True)
    assert "专卖案件研判会" in text and "张专管" in text and "already booked" in text
    assert _count(aapp) == 1
    # Touching edges do not clash; another room at the same time is free.
    assert _book(km, room, "10:30", "11:00").status_code == 302
    assert _book(km, aapp.config["TEST_IDS"]["room2"], "09:00", "10:30").status_code == 302
    assert _count(aapp) == 3
    page = zg.get(f"/affairs/rooms?day={TOMORROW}").get_data(as_text=True)
    assert "专卖案件研判会" in page and "09:00–10:30" in page


def test_cancel_frees_the_room_and_only_the_booker_or_office_may(aapp: Flask) -> None:
    room = aapp.config["TEST_IDS"]["room1"]
    zg, km, bg = (client_for(aapp, u) for u in ("zg", "km", "bg"))
    assert _book(zg, room, "14:00", "15:00").status_code == 302
    with aapp.app_context():
        s = aapp.extensions["portal"].db.session()
        booking_id = s.scalar(select(Booking.id))
    refused = km.post(f"/affairs/bookings/{booking_id}/cancel")
    assert refused.status_code == 403
    assert "Only the person who booked" in refused.get_data(as_text=True)
    assert bg.post(f"/affairs/bookings/{booking_id}/cancel").status_code == 302  # office
    assert _count(aapp) == 0
    assert _book(km, room, "14:30", "15:30").status_code == 302


@pytest.mark.parametrize(("start", "end", "day", "message"), [
    ("10:00", "09:00", TOMORROW, "must be after the start"),
    ("10:00", "10:00", TOMORROW, "must be after the start"),
    ("9点", "10:00", TOMORROW, "is not a time"),
    ("09:00", "10:00", "2026-02-30", "is not a date"),
    ("09:00", "10:00", "2020-01-01", "already over"),
])
def test_bad_periods_are_422(aapp: Flask, start: str, end: str, day: str,
                             message: str) -> None:
    zg = client_for(aapp, "zg")
    response = _book(zg, aapp.config["TEST_IDS"]["room1"], start, end, day=day)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _count(aapp) == 0


def test_unknown_room_and_missing_subject(aapp: Flask) -> None:
    zg = client_for(aapp, "zg")
    assert _book(zg, 9999, "09:00", "10:00").status_code == 404
    missing = _book(zg, aapp.config["TEST_IDS"]["room1"], "09:00", "10:00", title="  ")
    assert missing.status_code == 422
    assert "Meeting subject is required" in missing.get_data(as_text=True)
    assert _count(aapp) == 0


@pytest.mark.postgres
def test_concurrent_double_booking_on_postgresql(pg_aapp: Flask) -> None:
    """Two sessions book overlapping slots at the same moment: exactly one wins. Each thread
    holds its transaction open at a barrier after the lock attempt, so without the lock both
    overlap checks would see an empty room."""
    app = pg_aapp
    room = app.config["TEST_IDS"]["room1"]
    people = app.config["TEST_ORG"].people
    start = datetime.combine(date.today() + timedelta(days=2), datetime.min.time()) \
        + timedelta(hours=9)
    barrier = threading.Barrier(2, timeout=20)
    results: dict[str, str] = {}
    original = service.overlapping_booking

    def checking(*args, **kwargs):  # type: ignore[no-untyped-def]
        # Both threads reach the check; the second is blocked in the lock until the first
        # commits, so only the first passes this barrier in time: wait briefly, not forever.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=1)
        return original(*args, **kwargs)

    def run(username: str, offset: int) -> None:
        with app.app_context():
            s = app.extensions["portal"].db.session()
            me = Principal(person_id=people[username], username=username, display_name=username,
                           org_unit_id=None)
            try:
                service.book(s, me, room, f"会议-{username}",
                             start + timedelta(minutes=offset),
                             start + timedelta(minutes=offset + 60))
                s.commit()
                results[username] = "booked"
            except Conflict as exc:
                s.rollback()
                results[username] = exc.message

    service.overlapping_booking = checking  # type: ignore[assignment]
    try:
        threads = [threading.Thread(target=run, args=("zg", 0)),
                   threading.Thread(target=run, args=("km", 30))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        service.overlapping_booking = original  # type: ignore[assignment]
    assert sorted(v == "booked" for v in results.values()) == [False, True], results
    loser = next(v for v in results.values() if v != "booked")
    assert "already booked" in loser
    assert _count(app) == 1


def test_window_lists_the_coming_seven_days(aapp: Flask) -> None:
    """The homepage window looks seven days ahead, whatever the weekday: on a Sunday the
    next day's meeting belongs to another calendar week but is what the person needs."""
    from portal.portlet import RenderContext
    from portlets.affairs.plugin import UPCOMING_DAYS, render_portlet

    client = client_for(aapp, "zg")
    for days, title in ((1, "明天的例会"), (UPCOMING_DAYS - 1, "第七天的例会"),
                        (UPCOMING_DAYS, "八天后的例会")):
        day = (date.today() + timedelta(days=days)).isoformat()
        assert _book(client, aapp.config["TEST_IDS"]["room1"], "09:00", "10:00", title,
                     day=day).status_code == 302
    org = aapp.config["TEST_ORG"]
    me = Principal(person_id=org.people["zg"], username="zg", display_name="zg",
                   org_unit_id=org.unit_a)
    with aapp.test_request_context():
        html = render_portlet(RenderContext(me, "affairs", {}))
    assert "明天的例会" in html and "第七天的例会" in html
    assert "八天后的例会" not in html
