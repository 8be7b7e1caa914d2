"""Fixtures of the office-affairs tests: English pages (so messages can be asserted), rooms and
vehicles as data, and signed-in clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portlets.affairs.models import Room, Vehicle
from tests.conftest import Auth, Org, make_app, seed_org


def add_rooms_and_cars(app: Flask) -> dict[str, int]:
    with app.app_context():
        s = app.extensions["portal"].db.session()
        rooms = [Room(name="第一会议室", location="3 楼", capacity=30, active=True,
                      lock_version=0),
                 Room(name="小会议室", location="2 楼", capacity=6, active=True, lock_version=0)]
        cars = [Vehicle(plate="浙F·A1234", model="GL8", seats=7, driver="陈师傅", active=True,
                        lock_version=0)]
        s.add_all(rooms + cars)
        s.commit()
        return {"room1": rooms[0].id, "room2": rooms[1].id, "car": cars[0].id}


@pytest.fixture(params=["sqlite", "postgresql"])
def aapp(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """The same test on the embedded SQLite and on the real PostgreSQL."""
    url = f"sqlite:///{tmp_path}/portal.db" if request.param == "sqlite" else \
        request.getfixturevalue("pg_url")
    app = make_app(url, DEFAULT_LOCALE="en")
    app.config["TEST_ORG"] = seed_org(app)
    app.config["TEST_IDS"] = add_rooms_and_cars(app)
    yield app
    app.extensions["portal"].db.engine.dispose()


@pytest.fixture
def pg_aapp(pg_url: str) -> Iterator[Flask]:
    app = make_app(pg_url, DEFAULT_LOCALE="en")
    app.config["TEST_ORG"] = seed_org(app)
    app.config["TEST_IDS"] = add_rooms_and_cars(app)
    yield app
    app.extensions["portal"].db.engine.dispose()


def client_for(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    assert Auth(client).login(username).status_code == 302, username
    return client


def org_of(app: Flask) -> Org:
    return app.config["TEST_ORG"]
