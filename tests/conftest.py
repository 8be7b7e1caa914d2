"""Shared fixtures: apps on SQLite and on the real PostgreSQL, a seeded organisation, sign-in.

PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) are required, not optional: ``make test``
starts them, and a test that needs one fails when it is down.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.app import create_app
from portal.migrate import upgrade
from portal.models import Customer, OrgUnit, Person, Post, PostAssignment
from portal.passwords import hash_password

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("PORTAL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("PORTAL_TEST_REDIS", "redis://127.0.0.1:6379/14")
PASSWORD = "pw-123456"
_HASH = hash_password(PASSWORD)
# Read above; gone from the environment so that no app (module-scoped fixtures included) takes
# them for settings.
for _key in [k for k in os.environ if k.startswith("PORTAL_TEST_")]:
    del os.environ[_key]


@pytest.fixture(autouse=True)
def _clean_portal_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests configure the app explicitly; a developer's PORTAL_* variables must not leak in."""
    for key in list(os.environ):
        if key.startswith("PORTAL_"):
            monkeypatch.delenv(key)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    name = f"portal_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_app(db_url: str, **extra: Any) -> Flask:
    config = {"DATABASE_URL": db_url, "SECRET_KEY": "test-secret", "TESTING": True,
              "WTF_CSRF_ENABLED": False, "LAYOUTS_DIR": str(ROOT / "layouts"), **extra}
    app = create_app(config)
    with app.app_context():
        upgrade(app)
    return app


@pytest.fixture
def app(tmp_path: Any) -> Iterator[Flask]:
    app = make_app(f"sqlite:///{tmp_path}/portal.db")
    yield app
    app.extensions["portal"].db.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_app(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Flask]:
    """The same test on the embedded SQLite and on the real PostgreSQL."""
    if request.param == "sqlite":
        app = make_app(f"sqlite:///{tmp_path}/portal.db")
        yield app
        app.extensions["portal"].db.engine.dispose()
    else:
        url = request.getfixturevalue("pg_url")
        app = make_app(url)
        yield app
        app.extensions["portal"].db.engine.dispose()


@dataclass
class Org:
    city: int
    unit_a: int
    unit_b: int
    people: dict[str, int]
    customers: list[int]


#: Far from today whenever the tests run: a licence near its end is a change event of its own.
LICENCE_VALID_TO = date.today() + timedelta(days=3 * 365)


def seed_org(app: Flask) -> Org:
    """A city with two county units, one person per post, and six customers."""
    with app.app_context():
        s = app.extensions["portal"].db.session()
        posts = {}
        for code, name, roles in [
            ("inspector", "专管员", ["staff"]), ("account_manager", "客户经理", ["staff"]),
            ("deliveryman", "送货员", ["staff"]), ("dept_head", "部门负责人", ["manager"]),
            ("leader", "市局领导", ["leader", "manager"]), ("office", "办公室文员", ["staff"]),
            ("admin", "系统管理员", ["admin"]),
        ]:
            posts[code] = Post(code=code, name=name, name_en=code, roles=roles)
        s.add_all(posts.values())
        city = OrgUnit(code="JX", name="嘉兴市局", kind="city")
        s.add(city)
        s.flush()
        city.path = f"/{city.id}/"
        units = []
        for code, name in [("HN", "海宁市局"), ("TX", "桐乡市局")]:
            u = OrgUnit(code=code, name=name, kind="county", parent_id=city.id)
            s.add(u)
            s.flush()
            u.path = f"{city.path}{u.id}/"
            units.append(u)
        people = {}
        for username, display, post, unit in [
            ("zg", "张专管", "inspector", units[0]), ("zg2", "李专管", "inspector", units[1]),
            ("km", "王经理", "account_manager", units[0]),
            ("sh", "赵送货", "deliveryman", units[0]),
            ("ld", "钱领导", "leader", city), ("bg", "孙文员", "office", city),
            ("admin", "周管理", "admin", city), ("bm", "吴部长", "dept_head", units[0]),
        ]:
            p = Person(username=username, display_name=display, org_unit_id=unit.id,
                       password_hash=_HASH, mobile="13800000000")
            s.add(p)
            s.flush()
            s.add(PostAssignment(person_id=p.id, post_id=posts[post].id, org_unit_id=unit.id,
                                 manages=post in ("leader", "dept_head")))
            people[username] = p.id
        customers = []
        for i in range(6):
            c = Customer(license_no=f"33048110{i:04d}", customer_code=f"330401{i:06d}",
                         name=f"海宁测试便利店{i}", org_unit_id=units[0].id, grade=10 + i,
                         license_valid_to=LICENCE_VALID_TO, inspector_id=people["zg"],
                         account_manager_id=people["km"], deliveryman_id=people["sh"])
            s.add(c)
            s.flush()
            customers.append(c.id)
        s.commit()
        return Org(city.id, units[0].id, units[1].id, people, customers)


@pytest.fixture
def org(app: Flask) -> Org:
    return seed_org(app)


class Auth:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, username: str, password: str = PASSWORD) -> Any:
        return self.client.post("/login", data={"username": username, "password": password})

    def logout(self) -> Any:
        return self.client.post("/logout")


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)


class Runner:
    """Invokes the ``portal`` command line against the test's app."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def invoke(self, args: list[str], **kwargs: Any) -> Any:
        from click.testing import CliRunner
        from flask.cli import ScriptInfo

        from portal.cli import cli

        info = ScriptInfo(create_app=lambda: self.app)
        return CliRunner().invoke(cli, args, obj=info, **kwargs)


@pytest.fixture
def runner(app: Flask) -> Runner:
    return Runner(app)
