"""The unified calendar: the core merge (a plugin that raises is left out), the month page and
week portlet, and the iCalendar export, parsed by the ``icalendar`` package."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import icalendar
import pytest
from flask import Flask

from portal.toolkit import CalendarEvent, Principal, calendar_events, hookimpl
from portlets.affairs import service as affairs
from portlets.calendar import ics
from portlets.calendar.plugin import render_week
from tests.affairs.conftest import add_rooms_and_cars
from tests.conftest import Auth, make_app, seed_org

LONG = "关于开展卷烟市场专项整治行动暨零售户诚信等级评定工作的督办事项" * 2  # > 75 octets
MONDAY = date.today() - timedelta(days=date.today().weekday())


class Broken:
    """A plugin whose calendar hook raises while its result is read."""

    @hookimpl
    def portal_calendar_events(self, principal, start, end):  # type: ignore[no-untyped-def]
        yield CalendarEvent(title="half", start=start, end=end, source="x", kind="x")
        raise RuntimeError("calendar backend down")


class Tricky:
    """Text that needs every escape, a long Chinese title that must be folded, an all-day
    event, and something that is not a CalendarEvent."""

    @hookimpl
    def portal_calendar_events(self, principal, start, end):  # type: ignore[no-untyped-def]
        at = datetime.combine(MONDAY, datetime.min.time()) + timedelta(hours=9)
        return [
            CalendarEvent(title="评审会; 议题: A,B \\ 第二行\n备注", start=at,
                          end=at + timedelta(hours=1), source="测试", kind="meeting",
                          url="/x?a=1", uid="tricky-1", location="三楼, 301"),
            CalendarEvent(title=LONG,
                          start=at + timedelta(hours=3), end=at + timedelta(hours=4),
                          source="测试", kind="deadline", uid="tricky-2"),
            CalendarEvent(title="年休假", start=datetime.combine(MONDAY, datetime.min.time()),
                          end=datetime.combine(MONDAY + timedelta(days=3), datetime.min.time()),
                          all_day=True, source="测试", kind="leave", uid="tricky-3"),
            "not an event",
        ]


@pytest.fixture(params=["sqlite", "postgresql"])
def capp(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    url = f"sqlite:///{tmp_path}/portal.db" if request.param == "sqlite" else \
        request.getfixturevalue("pg_url")
    app = make_app(url, DEFAULT_LOCALE="en")
    app.config["TEST_ORG"] = seed_org(app)
    app.config["TEST_IDS"] = add_rooms_and_cars(app)
    yield app
    app.extensions["portal"].db.engine.dispose()


def _principal(app: Flask, username: str) -> Principal:
    org = app.config["TEST_ORG"]
    return Principal(person_id=org.people[username], username=username, display_name=username,
                     org_unit_id=org.unit_a)


def _book_this_week(app: Flask) -> None:
    """A meeting and a trip on this week's Wednesday, whatever today is: booked as if it
    were Monday morning, since by Sunday the meeting is over and a booking in the past
    is refused."""
    with app.app_context():
        s = app.extensions["portal"].db.session()
        day = MONDAY + timedelta(days=2)
        start = datetime.combine(day, datetime.min.time()) + timedelta(hours=15)
        affairs.book(s, _principal(app, "zg"), app.config["TEST_IDS"]["room1"], "周例会",
                     start, start + timedelta(hours=1),
                     now=datetime.combine(MONDAY, datetime.min.time()))
        affairs.request_trip(s, _principal(app, "zg"), "杭州", "培训",
                             datetime.combine(day, datetime.min.time()),
                             datetime.combine(day + timedelta(days=1), datetime.min.time()))
        s.commit()


def test_merge_leaves_out_a_broken_plugin_and_foreign_objects(capp: Flask,
                                                               caplog: pytest.LogCaptureFixture
                                                               ) -> None:
    _book_this_week(capp)
    pm = capp.extensions["portal"].plugins.pm
    pm.register(Broken(), name="broken_calendar")
    pm.register(Tricky(), name="tricky_calendar")
    start = datetime.combine(MONDAY, datetime.min.time())
    with capp.test_request_context():
        events = calendar_events(_principal(capp, "zg"), start, start + timedelta(days=14))
    kinds = sorted(e.kind for e in events)
    assert kinds == ["deadline", "leave", "meeting", "meeting", "trip"]
    assert [e.start for e in events] == sorted(e.start for e in events)
    assert "broken_calendar failed" in caplog.text and "not a CalendarEvent" in caplog.text


def test_ics_export_parses_and_keeps_the_text(capp: Flask) -> None:
    _book_this_week(capp)
    capp.extensions["portal"].plugins.pm.register(Tricky(), name="tricky_calendar")
    client = capp.test_client()
    assert client.get("/calendar/ics").status_code == 302  # signed-in only
    Auth(client).login("zg")
    response = client.get("/calendar/ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    raw = response.get_data()
    lines = raw.split(b"\r\n")
    assert lines[-1] == b"" and all(len(line) <= 75 for line in lines)
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    raw.decode("utf-8")  # folding never cut a character
    cal = icalendar.Calendar.from_ical(raw)
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    assert all("DTSTAMP" in e for e in events.values())
    tricky = events["tricky-1@localhost"]
    assert str(tricky["SUMMARY"]) == "评审会; 议题: A,B \\ 第二行\n备注"
    assert str(tricky["LOCATION"]) == "三楼, 301"
    assert str(tricky["URL"]) == "http://localhost/x?a=1"
    assert tricky.decoded("DTSTART").tzinfo is not None
    assert tricky.decoded("DTSTART").utcoffset() == timedelta(hours=8)
    long = events["tricky-2@localhost"]
    assert str(long["SUMMARY"]) == LONG
    leave = events["tricky-3@localhost"]
    assert leave.decoded("DTSTART") == MONDAY
    assert leave.decoded("DTEND") == MONDAY + timedelta(days=3)
    meetings = [e for e in events.values() if str(e["SUMMARY"]) == "周例会"]
    assert len(meetings) == 1 and str(meetings[0]["LOCATION"]) == "第一会议室"
    assert any(str(e["UID"]).startswith("affairs-trip-") for e in events.values())


@pytest.mark.parametrize("text", ["a,b;c\\d\ne", "无需转义", ""])
def test_escape_round_trip(text: str) -> None:
    line = f"SUMMARY:{ics.escape(text)}"
    parsed = icalendar.Event.from_ical(f"BEGIN:VEVENT\r\n{line}\r\nEND:VEVENT\r\n")
    assert str(parsed.get("SUMMARY", "")) == text


def test_fold_counts_octets_not_characters() -> None:
    folded = ics.fold("SUMMARY:" + "烟" * 60)
    pieces = folded.split("\r\n")
    assert all(len(p.encode()) <= 75 for p in pieces)
    assert pieces[0] == "SUMMARY:" + "烟" * 22  # 8 + 66 octets; one more would be 77
    assert all(p.startswith(" ") for p in pieces[1:])
    assert "".join(p[1:] if i else p for i, p in enumerate(pieces)) == "SUMMARY:" + "烟" * 60


def test_month_page_and_week_portlet(capp: Flask) -> None:
    _book_this_week(capp)
    client = capp.test_client()
    Auth(client).login("zg")
    page = client.get("/calendar/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "周例会" in html and "Business trip: 杭州" in html
    assert client.get("/calendar/?month=2026-13").status_code == 400
    assert client.get(f"/calendar/?month={date.today():%Y-%m}").status_code == 200
    with capp.test_request_context():
        week = render_week(SimpleNamespace(principal=_principal(capp, "zg")))  # type: ignore[arg-type]
    assert "周例会" in week and "15:00" in week
