"""Supervision: a leader assigns, the assignee reports progress (several times) and finishes,
the leader returns then accepts; overdue tasks are red in the list and the portlet; out of
turn is 403, stale 409, unseen 404, bad input 422 — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.toolkit import Principal, calendar_events, todo_items
from portlets.supervision.models import Feedback, Task
from portlets.supervision.plugin import render_portlet
from tests.conftest import Auth, make_app, seed_org


@pytest.fixture(params=["sqlite", "postgresql"])
def sapp(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    url = f"sqlite:///{tmp_path}/portal.db" if request.param == "sqlite" else \
        request.getfixturevalue("pg_url")
    app = make_app(url, DEFAULT_LOCALE="en")
    app.config["TEST_ORG"] = seed_org(app)
    yield app
    app.extensions["portal"].db.engine.dispose()


def _client(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    assert Auth(client).login(username).status_code == 302
    return client


def _version(app: Flask, task_id: int) -> str:
    with app.app_context():
        task = app.extensions["portal"].db.session().get(Task, task_id)
        assert task is not None
        return str(task.version)


def _create(ld: FlaskClient, assignee: str, deadline: datetime, title: str = "落实专项整治"):  # type: ignore[no-untyped-def]
    return ld.post("/supervision/new", data={"title": title, "body": "按时反馈",
                                             "assignee": assignee,
                                             "deadline": deadline.strftime("%Y-%m-%dT%H:%M")})


def _task_id(response) -> int:  # type: ignore[no-untyped-def]
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def _act(client: FlaskClient, app: Flask, task_id: int, action: str, version: str | None = None,
         **fields: str):  # type: ignore[no-untyped-def]
    return client.post(f"/supervision/{task_id}/{action}",
                       data={"version": version or _version(app, task_id), **fields})


def test_whole_life(sapp: Flask) -> None:
    people = sapp.config["TEST_ORG"].people
    ld, zg = _client(sapp, "ld"), _client(sapp, "zg")
    task_id = _task_id(_create(ld, f"person:{people['zg']}", datetime.now() + timedelta(days=3)))
    assert _act(zg, sapp, task_id, "progress", body="已部署", percent="30").status_code == 302
    assert _act(zg, sapp, task_id, "progress", body="过半", percent="60").status_code == 302
    assert _act(zg, sapp, task_id, "finish", body="已完成").status_code == 302
    assert _act(ld, sapp, task_id, "return", body="请补充照片").status_code == 302
    assert _act(zg, sapp, task_id, "finish", body="已补充").status_code == 302
    assert _act(ld, sapp, task_id, "accept", body="很好").status_code == 302
    with sapp.app_context():
        s = sapp.extensions["portal"].db.session()
        kinds = list(s.scalars(select(Feedback.kind).where(Feedback.task_id == task_id)
                               .order_by(Feedback.id)))
        assert kinds == ["progress", "progress", "done", "return", "done", "accept"]
        assert s.get(Task, task_id).status == "accepted"  # type: ignore[union-attr]
    page = zg.get(f"/supervision/{task_id}").get_data(as_text=True)
    assert "过半" in page and "60%" in page and "请补充照片" in page


def test_unit_task_any_member_reports_and_todo(sapp: Flask) -> None:
    org = sapp.config["TEST_ORG"]
    ld, km = _client(sapp, "ld"), _client(sapp, "km")
    task_id = _task_id(_create(ld, f"unit:{org.unit_a}", datetime.now() + timedelta(days=1)))
    with sapp.test_request_context():
        me = Principal(person_id=org.people["km"], username="km", display_name="王经理",
                       org_unit_id=org.unit_a)
        titles = [i.title for i in todo_items(me) if i.source == "Supervision"]
        assert titles == ["【Carry out】落实专项整治"]
        events = calendar_events(me, datetime.now(), datetime.now() + timedelta(days=7))
        assert [e.kind for e in events if e.uid == f"supervision-task-{task_id}"] == ["deadline"]
    assert _act(km, sapp, task_id, "finish", body="完成").status_code == 302
    with sapp.test_request_context():
        leader = Principal(person_id=org.people["ld"], username="ld", display_name="钱领导",
                           org_unit_id=org.city, posts=("leader",))
        assert [i.title for i in todo_items(leader) if i.source == "Supervision"] == \
            ["【Accept】落实专项整治"]


def test_overdue_is_red_in_list_and_portlet(sapp: Flask) -> None:
    people = sapp.config["TEST_ORG"].people
    ld, zg = _client(sapp, "ld"), _client(sapp, "zg")
    task_id = _task_id(_create(ld, f"person:{people['zg']}", datetime.now() + timedelta(days=1),
                               "逾期的任务"))
    with sapp.app_context():  # time passes: the deadline is now yesterday
        s = sapp.extensions["portal"].db.session()
        task = s.get(Task, task_id)
        assert task is not None
        task.deadline = datetime.now() - timedelta(days=1)
        s.commit()
    _task_id(_create(ld, f"person:{people['zg']}", datetime.now() + timedelta(days=5),
                     "按期的任务"))
    listing = zg.get("/supervision/").get_data(as_text=True)
    late_row = listing.split(f'data-task="{task_id}"')[0].rsplit("<tr", 1)[1]
    assert "supervision-late" in late_row
    assert listing.count("supervision-late\"") == 1  # the other task is on time
    assert "Overdue" in listing
    with sapp.test_request_context():
        html = render_portlet(SimpleNamespace(principal=Principal(  # type: ignore[arg-type]
            person_id=people["zg"], username="zg", display_name="张专管", org_unit_id=None)))
    assert "⚠ 逾期的任务" in html and "⚠ 按期的任务" not in html


def test_out_of_turn_stale_unseen_and_bad_input(sapp: Flask) -> None:
    people = sapp.config["TEST_ORG"].people
    ld, zg, km = (_client(sapp, u) for u in ("ld", "zg", "km"))
    # Only leaders assign.
    assert _create(zg, f"person:{people['km']}", datetime.now() + timedelta(days=1)) \
        .status_code == 403
    bad = _create(ld, f"person:{people['zg']}", datetime.now() - timedelta(hours=1))
    assert bad.status_code == 422 and "must be in the future" in bad.get_data(as_text=True)
    assert _create(ld, "person:99999", datetime.now() + timedelta(days=1)).status_code == 422
    assert ld.post("/supervision/new", data={"title": "x", "assignee": f"person:{people['zg']}",
                                             "deadline": "明天"}).status_code == 422
    task_id = _task_id(_create(ld, f"person:{people['zg']}", datetime.now() + timedelta(days=2)))
    # Someone else may not even see it; the leader may not report progress for the assignee.
    assert km.get(f"/supervision/{task_id}").status_code == 404
    assert _act(km, sapp, task_id, "finish", body="x").status_code == 404
    out_of_turn = _act(ld, sapp, task_id, "finish", body="x")
    assert out_of_turn.status_code == 403
    assert _act(ld, sapp, task_id, "accept").status_code == 409  # not reported done yet
    old = _version(sapp, task_id)
    assert _act(zg, sapp, task_id, "finish", version=old, body="完成").status_code == 302
    stale = _act(zg, sapp, task_id, "progress", version=old, body="再报")
    assert stale.status_code == 409 and "after you opened it" in stale.get_data(as_text=True)
    pct = _act(ld, sapp, task_id, "return", body="")
    assert pct.status_code == 422 and "Reason is required" in pct.get_data(as_text=True)
    with sapp.app_context():
        s = sapp.extensions["portal"].db.session()
        assert s.scalar(select(func.count()).select_from(Task)) == 1
        assert s.scalar(select(func.count()).select_from(Feedback)) == 1  # nothing half-saved
