"""The personal iCalendar subscription: made on the calendar page, fetched without a session,
stored only as a hash, replaced or revoked at once; wrong tokens are a readable 404."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import icalendar
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.models import AuditEntry, Person
from portlets.calendar.models import Feed
from tests.calendar_portlet.test_calendar import _book_this_week, capp  # noqa: F401
from tests.conftest import Auth, make_app


def _signed_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    assert Auth(client).login(username).status_code == 302
    return client


def _make(client: FlaskClient) -> str:
    """Press "make an address"; returns the path of the URL the page shows (once)."""
    response = client.post("/calendar/subscription", data={"action": "create"})
    assert response.status_code == 302 and response.headers["Location"].endswith("#subscribe")
    page = client.get("/calendar/").get_data(as_text=True)
    m = re.search(r'id="feed-url"[^>]*value="http://localhost(/calendar/ics/[^"]+\.ics)"', page)
    assert m, page[-3000:]
    again = client.get("/calendar/").get_data(as_text=True)
    assert m.group(1) not in again and "Subscription active since" in again  # shown once
    return m.group(1)


def test_a_subscription_is_fetched_without_a_session(capp: Flask) -> None:  # noqa: F811
    _book_this_week(capp)
    zg = _signed_in(capp, "zg")
    path = _make(zg)
    token = path.removeprefix("/calendar/ics/").removesuffix(".ics")
    anonymous = capp.test_client()
    response = anonymous.get(path)
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert response.headers["Cache-Control"] == "private, no-store"
    cal = icalendar.Calendar.from_ical(response.get_data())
    assert "周例会" in [str(e["SUMMARY"]) for e in cal.walk("VEVENT")]
    with capp.app_context():
        s = capp.extensions["portal"].db.session()
        feed = s.scalars(select(Feed)).one()
        assert feed.person_id == capp.config["TEST_ORG"].people["zg"]
        assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest()  # not the token
        assert token not in str([feed.token_hash])
        assert feed.used_at is not None
        assert {a.action for a in s.scalars(select(AuditEntry))} >= {"calendar.feed.create"}
    assert "Last fetched" in zg.get("/calendar/").get_data(as_text=True)
    # another person's calendar does not come with it
    km_path = _make(_signed_in(capp, "km"))
    km_cal = icalendar.Calendar.from_ical(anonymous.get(km_path).get_data())
    assert "周例会" not in [str(e["SUMMARY"]) for e in km_cal.walk("VEVENT")]


def test_regenerated_revoked_and_wrong_tokens_are_404(capp: Flask) -> None:  # noqa: F811
    zg = _signed_in(capp, "zg")
    anonymous = capp.test_client()
    first = _make(zg)
    second = _make(zg)
    assert first != second
    old = anonymous.get(first)
    assert old.status_code == 404
    assert "revoked or replaced" in old.get_data(as_text=True)
    assert "Traceback" not in old.get_data(as_text=True)
    assert anonymous.get(second).status_code == 200
    assert zg.post("/calendar/subscription", data={"action": "revoke"}).status_code == 302
    assert anonymous.get(second).status_code == 404
    assert "no subscription address" in zg.get("/calendar/").get_data(as_text=True)
    for bad in ("/calendar/ics/x.ics", "/calendar/ics/" + "a" * 300 + ".ics",
                "/calendar/ics/%E4%B8%AD.ics", "/calendar/ics/.ics"):
        assert anonymous.get(bad).status_code == 404, bad
    assert zg.post("/calendar/subscription", data={"action": "boom"}).status_code == 400
    assert capp.test_client().post("/calendar/subscription",
                                   data={"action": "create"}).status_code == 302  # sign in


def test_a_deactivated_person_loses_the_feed(capp: Flask) -> None:  # noqa: F811
    path = _make(_signed_in(capp, "zg"))
    with capp.app_context():
        s = capp.extensions["portal"].db.session()
        person = s.get(Person, capp.config["TEST_ORG"].people["zg"])
        assert person is not None
        person.active = False
        s.commit()
    assert capp.test_client().get(path).status_code == 404


def test_the_404_is_in_chinese_first(tmp_path: Path) -> None:
    app = make_app(f"sqlite:///{tmp_path}/portal.db")  # the default language: zh_CN
    try:
        response = app.test_client().get("/calendar/ics/nothing.ics")
        assert response.status_code == 404
        assert "日历订阅地址无效" in response.get_data(as_text=True)
    finally:
        app.extensions["portal"].db.engine.dispose()
