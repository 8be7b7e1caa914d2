"""Server-side sessions: id rotation, idle and absolute timeouts, the "my sessions" page with
"sign out elsewhere", in Redis and in the database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.auth import Principal
from portal.models import AuditEntry
from portal.plugins import hookimpl
from portal.sessions import ServerSessionInterface
from tests.conftest import PASSWORD, REDIS_URL, make_app, seed_org

COOKIE = "portal_session"


class SignOutRecorder:
    """A plugin that hears every ``portal_signed_out``, as single sign-out would."""

    def __init__(self) -> None:
        self.ended: list[tuple[str, str]] = []

    @hookimpl
    def portal_signed_out(self, principal: Principal, session_id: str) -> None:
        self.ended.append((principal.username, session_id))


@pytest.fixture(params=["redis", "sqlite", "postgresql"])
def store_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """The same app with sessions in Redis, or in the database (SQLite, PostgreSQL)."""
    recorder = SignOutRecorder()
    extra: dict[str, Any] = {"PLUGINS": [("recorder", recorder)]}
    if request.param == "redis":
        redis.Redis.from_url(REDIS_URL).flushdb()
        app = make_app(f"sqlite:///{tmp_path}/portal.db", REDIS_URL=REDIS_URL, **extra)
    elif request.param == "sqlite":
        app = make_app(f"sqlite:///{tmp_path}/portal.db", **extra)
    else:
        app = make_app(request.getfixturevalue("pg_url"), **extra)
    app.config["recorder"] = recorder
    seed_org(app)
    yield app
    app.extensions["portal"].db.engine.dispose()


def interface(app: Flask) -> ServerSessionInterface:
    assert isinstance(app.session_interface, ServerSessionInterface)
    return app.session_interface


def sid_of(client: FlaskClient) -> str | None:
    cookie = client.get_cookie(COOKIE)
    return cookie.value if cookie else None


def sign_in(app: Flask, username: str = "km", agent: str = "TestBrowser/1.0") -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = agent
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def test_the_session_id_is_rotated_at_sign_in(store_app: Flask) -> None:
    client = store_app.test_client()
    client.post("/locale", data={"locale": "en"})  # an anonymous session exists
    planted = sid_of(client)
    assert planted is not None and interface(store_app).store.load(planted) is not None
    client.post("/login", data={"username": "km", "password": PASSWORD})
    fresh = sid_of(client)
    assert fresh and fresh != planted
    assert interface(store_app).store.load(planted) is None  # the old id is gone
    loaded = interface(store_app).store.load(fresh)
    assert loaded is not None and loaded[0]["locale"] == "en"  # the language survives


def test_signing_in_again_ends_the_signed_in_session_and_unlists_it(store_app: Flask) -> None:
    """The old id goes in the round trip that saves the new one, and leaves its person's
    index too (Redis: the raw set, not only what ``sessions_of`` filters)."""
    from portal.models import Person

    client = sign_in(store_app)
    first = sid_of(client)
    client.post("/login", data={"username": "km", "password": PASSWORD})
    second = sid_of(client)
    assert first and second and first != second
    store = interface(store_app).store
    assert store.load(first) is None and store.load(second) is not None
    with store_app.app_context():
        s = store_app.extensions["portal"].db.session()
        person_id = s.scalars(select(Person.id).where(Person.username == "km")).one()
        assert [x.sid for x in interface(store_app).sessions_of(person_id)] == [second]
    if store_app.extensions["portal"].settings["REDIS_URL"]:
        members = redis.Redis.from_url(REDIS_URL).smembers(f"portal:person-sessions:{person_id}")
        assert {m.decode() for m in members} == {second}


def _age(app: Flask, sid: str, *, idle: float = 0, since_sign_in: float = 0) -> None:
    store = interface(app).store
    loaded = store.load(sid)
    assert loaded is not None
    data, created, last_seen = loaded
    store.save(sid, data, created - since_sign_in, last_seen - idle, 3600)


def test_idle_timeout_ends_the_session(store_app: Flask) -> None:
    client = sign_in(store_app)
    assert client.get("/").status_code == 200
    _age(store_app, str(sid_of(client)), idle=store_app.extensions["portal"].settings[
        "SESSION_IDLE_TIMEOUT"] + 5)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "会话已过期" in page


def test_absolute_timeout_ends_an_active_session(store_app: Flask) -> None:
    client = sign_in(store_app)
    settings = store_app.extensions["portal"].settings
    _age(store_app, str(sid_of(client)), since_sign_in=settings["SESSION_ABSOLUTE_TIMEOUT"] + 5)
    assert client.get("/").status_code == 302  # active a second ago, yet too old


def test_my_sessions_lists_devices_and_signs_out_elsewhere(store_app: Flask) -> None:
    laptop = sign_in(store_app, agent="Laptop Firefox")
    phone = sign_in(store_app, agent="Phone Safari")
    sign_in(store_app, "zg")  # someone else's session is not listed
    page = laptop.get("/account/sessions")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Laptop Firefox" in html and "Phone Safari" in html and "127.0.0.1" in html
    assert html.count("本会话") == 1 and "在其他地方退出" in html

    phone_sid = sid_of(phone)
    response = laptop.post("/account/sessions/others")
    assert response.status_code == 302
    assert phone.get("/").status_code == 302  # the phone is signed out
    assert laptop.get("/").status_code == 200  # this one is not
    assert store_app.config["recorder"].ended == [("km", phone_sid)]
    with store_app.app_context():
        s = store_app.extensions["portal"].db.session()
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "logout.elsewhere")).one()
        assert entry.detail == {"sessions": 1}
    html = laptop.get("/account/sessions").get_data(as_text=True)
    assert "Phone Safari" not in html


def test_one_other_session_can_be_ended_by_its_handle(store_app: Flask) -> None:
    laptop = sign_in(store_app, agent="Laptop")
    phone = sign_in(store_app, agent="Phone")
    tablet = sign_in(store_app, agent="Tablet")
    html = laptop.get("/account/sessions").get_data(as_text=True)
    handles = re.findall(r"/account/sessions/([0-9a-f]{24})/end", html)
    assert len(handles) == 2  # the two others; this one has no button
    rows = re.findall(r"<td>(Phone|Tablet)</td>.*?/account/sessions/([0-9a-f]{24})/end", html,
                      re.S)
    phone_handle = dict(rows)["Phone"]
    assert laptop.post(f"/account/sessions/{phone_handle}/end").status_code == 302
    assert phone.get("/").status_code == 302
    assert tablet.get("/").status_code == 200
    assert laptop.post(f"/account/sessions/{phone_handle}/end").status_code == 404
    assert laptop.post("/account/sessions/not-a-handle/end").status_code == 404


def test_sign_out_ends_the_session_and_its_index_entry(store_app: Flask) -> None:
    client = sign_in(store_app)
    person_id = store_app.extensions["portal"].db.session
    with store_app.app_context():
        from portal.models import Person

        s = store_app.extensions["portal"].db.session()
        person_id = s.scalars(select(Person.id).where(Person.username == "km")).one()
        assert len(interface(store_app).sessions_of(person_id)) == 1
        client.post("/logout")
        assert interface(store_app).sessions_of(person_id) == []


def test_the_sessions_page_needs_a_sign_in(store_app: Flask) -> None:
    response = store_app.test_client().get("/account/sessions")
    assert response.status_code == 302 and "/login?next=/account/sessions" in \
        response.headers["Location"]
