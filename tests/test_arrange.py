"""Arranging one's homepage through the HTTP API: every change checked, versioned, and kept as a
diff; refused changes (400/403/404/409) store nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.models import UserLayout
from tests.conftest import Auth, seed_org

PAGE = "account_manager.home"


@pytest.fixture
def km(db_app: Flask) -> FlaskClient:
    seed_org(db_app)
    client = db_app.test_client()
    Auth(client).login("km")
    return client


def _layout(client: FlaskClient, page: str = PAGE) -> dict[str, Any]:
    response = client.get(f"/layout/{page}", headers={"Accept": "application/json"})
    assert response.status_code == 200, response.data
    return response.get_json()


def _boxes(layout: dict[str, Any]) -> dict[str, tuple[int, int, int, int]]:
    return {w["id"]: (w["x"], w["y"], w["w"], w["h"]) for w in layout["windows"]}


def _move(client: FlaskClient, version: int, *windows: dict[str, Any]) -> Any:
    return client.post(f"/layout/{PAGE}/move", json={"version": version, "windows": list(windows)})


def _rows(app: Flask) -> list[tuple[str, dict[str, Any], int]]:
    with app.app_context():
        s = app.extensions["portal"].db.session()
        return [(r.page_key, r.diff, r.version) for r in s.scalars(select(UserLayout))]


def test_move_is_stored_as_a_diff_and_versioned(km: FlaskClient, db_app: Flask) -> None:
    before = _layout(km)
    assert before["version"] == 0
    r = _move(km, 0, {"id": "today", "x": 0, "y": 17, "w": 4, "h": 2})
    assert r.status_code == 200, r.data
    assert r.get_json()["version"] == 1
    after = _boxes(_layout(km))
    assert after["today"] == (0, 17, 4, 2)
    assert {k: v for k, v in after.items() if k != "today"} == \
        {k: v for k, v in _boxes(before).items() if k != "today"}
    [(key, diff, version)] = _rows(db_app)
    # Only what the user changed, not a copy of the page.
    assert key == PAGE and version == 1
    assert diff["windows"] == {"today": {"x": 0, "y": 17, "w": 4, "h": 2}}


def test_stale_version_is_refused_with_the_fresh_layout(km: FlaskClient, db_app: Flask) -> None:
    assert _move(km, 0, {"id": "today", "x": 0, "y": 17, "w": 4, "h": 2}).status_code == 200
    # A second tab still at version 0:
    r = _move(km, 0, {"id": "links", "x": 4, "y": 17, "w": 8, "h": 2})
    assert r.status_code == 409
    body = r.get_json()
    assert "另一个窗口" in body["error"] or "another window" in body["error"]
    assert body["layout"]["version"] == 1
    assert _boxes(body["layout"])["today"] == (0, 17, 4, 2)
    assert _rows(db_app)[0][2] == 1  # nothing stored


@pytest.mark.parametrize("window, status, text", [
    ({"id": "notices", "x": 0, "y": 14, "w": 6, "h": 4}, 403, "锁定"),      # locked place
    ({"id": "today", "x": 10, "y": 0, "w": 4, "h": 2}, 400, "超出"),         # off the grid
    ({"id": "today", "x": -1, "y": 0, "w": 4, "h": 2}, 400, "超出"),
    ({"id": "today", "x": 0, "y": 0, "w": 12, "h": 2}, 400, "6×3"),         # too wide (at most 6×3)
    ({"id": "today", "x": 6, "y": 2, "w": 4, "h": 2}, 400, "重叠"),          # onto notices
    ({"id": "nosuch", "x": 0, "y": 20, "w": 4, "h": 2}, 404, "nosuch"),
    ({"id": "today", "x": "a", "y": 0, "w": 4, "h": 2}, 400, "整数"),
])
def test_bad_moves_are_refused_and_nothing_is_stored(km: FlaskClient, db_app: Flask,
                                                     window: dict[str, Any], status: int,
                                                     text: str) -> None:
    r = _move(km, 0, window)
    assert r.status_code == status, r.data
    assert text in r.get_json()["error"]
    assert _rows(db_app) == []


def test_locked_window_cannot_be_removed_others_can_and_come_back(km: FlaskClient) -> None:
    r = km.post(f"/layout/{PAGE}/remove", json={"version": 0, "window": "notices"})
    assert r.status_code == 403
    r = km.post(f"/layout/{PAGE}/remove", json={"version": 0, "window": "links"})
    assert r.status_code == 200
    layout = r.get_json()
    assert "links" not in _boxes(layout)
    assert layout["removed"] == [{"id": "links", "portlet": "quicklinks", "reason": "removed"}]
    r = km.post(f"/layout/{PAGE}/restore", json={"version": layout["version"], "window": "links"})
    assert r.status_code == 200 and "links" in _boxes(r.get_json())


def test_add_from_the_catalogue_checks_the_portlet(km: FlaskClient) -> None:
    catalogue = km.get(f"/layout/{PAGE}/catalogue").get_data(as_text=True)
    assert "通讯录" in catalogue and "添加" in catalogue
    assert "通讯录" not in km.get(f"/layout/{PAGE}/catalogue?q=zzz").get_data(as_text=True)
    r = km.post(f"/layout/{PAGE}/add", json={"version": 0, "portlet": "nosuch"})
    assert r.status_code == 400 and "nosuch" in r.get_json()["error"]
    r = km.post(f"/layout/{PAGE}/add", json={"version": 0, "portlet": "directory"})
    assert r.status_code == 200
    added = [w for w in r.get_json()["windows"] if w["id"].startswith("my-")]
    assert [w["portlet"] for w in added] == ["directory"]
    boxes = _boxes(r.get_json())
    mine = boxes[added[0]["id"]]
    others = [b for k, b in boxes.items() if k != added[0]["id"]]
    assert not any(mine[0] < o[0] + o[2] and o[0] < mine[0] + mine[2] and
                   mine[1] < o[1] + o[3] and o[1] < mine[1] + mine[3] for o in others)
    # The form way (no JavaScript) redirects back to the page.
    r = km.post(f"/layout/{PAGE}/add", data={"version": "1", "portlet": "profile"})
    assert r.status_code == 302 and r.location.endswith(f"/page/{PAGE}")


def test_reset_keeps_one_undo(km: FlaskClient) -> None:
    _move(km, 0, {"id": "today", "x": 0, "y": 17, "w": 4, "h": 2})
    default = _boxes(_layout(km))["links"]
    r = km.post(f"/layout/{PAGE}/reset", json={"version": 1})
    assert r.status_code == 200
    assert _boxes(r.get_json())["today"] == (0, 0, 4, 2)
    r = km.post(f"/layout/{PAGE}/undo", json={"version": 2})
    assert r.status_code == 200
    assert _boxes(r.get_json())["today"] == (0, 17, 4, 2)
    assert _boxes(r.get_json())["links"] == default
    assert km.post(f"/layout/{PAGE}/undo", json={"version": 3}).status_code == 409


def test_own_pages_belong_to_their_owner(db_app: Flask) -> None:
    org = seed_org(db_app)
    km, zg = db_app.test_client(), db_app.test_client()
    Auth(km).login("km")
    Auth(zg).login("zg")
    r = km.post("/layout/pages", json={"title": "我的常用"})
    assert r.status_code == 201
    key = r.get_json()["page"]
    assert key == f"u{org.people['km']}-1"
    assert "我的常用" in km.get("/").get_data(as_text=True)
    r = km.post(f"/layout/{key}/add", json={"version": 1, "portlet": "today"})
    assert r.status_code == 200
    assert zg.get(f"/page/{key}").status_code == 403
    assert zg.post(f"/layout/{key}/add", json={"version": 2, "portlet": "today"}).status_code \
        == 403
    assert zg.get(f"/layout/{key}", headers={"Accept": "application/json"}).status_code == 403
    r = km.post(f"/layout/{key}/rename", json={"version": 2, "title": ""})
    assert r.status_code == 400
    r = km.post(f"/layout/{key}/rename", json={"version": 2, "title": "客户走访"})
    assert r.status_code == 200
    assert "客户走访" in km.get("/").get_data(as_text=True)
    tabs = re.findall(r'<a href="/page/([^"]+)"', km.get("/").get_data(as_text=True))
    assert tabs[0] == PAGE and key in tabs
    r = km.post("/layout/tabs", json={"order": [key, *(t for t in tabs if t != key)]})
    assert r.status_code == 200
    html = km.get("/").get_data(as_text=True)  # the first tab is the homepage
    assert html.index("客户走访") < html.index("工作台")
    assert km.post("/layout/tabs", json={"order": [key]}).status_code == 400
    assert km.post(f"/layout/{PAGE}/delete").status_code == 403  # post pages stay
    assert km.post(f"/layout/{key}/delete").status_code == 302
    assert "客户走访" not in km.get("/").get_data(as_text=True)


def test_preferences_follow_the_user(db_app: Flask) -> None:
    """Saved on the server: another browser (client) sees them at once."""
    seed_org(db_app)
    first, second = db_app.test_client(), db_app.test_client()
    Auth(first).login("km")
    Auth(second).login("km")
    r = first.post(f"/w/{PAGE}/customers/edit", data={"limit": "5"})
    assert r.status_code == 302
    html = second.get(f"/w/{PAGE}/customers/edit").get_data(as_text=True)
    assert 'value="5"' in html


def test_two_posts_give_both_posts_pages(db_app: Flask) -> None:
    org = seed_org(db_app)
    with db_app.app_context():
        from portal.models import Post, PostAssignment

        s = db_app.extensions["portal"].db.session()
        leader = s.scalars(select(Post).where(Post.code == "leader")).one()
        s.add(PostAssignment(person_id=org.people["km"], post_id=leader.id,
                             org_unit_id=org.city))
        s.commit()
    client = db_app.test_client()
    Auth(client).login("km")
    html = client.get("/").get_data(as_text=True)
    for title in ("工作台", "我的客户", "领导首页", "城市概况"):
        assert f">{title}</a>" in html
    assert client.get("/page/leader.home").status_code == 200


def test_a_locked_page_refuses_every_change(db_app: Flask) -> None:
    seed_org(db_app)
    client = db_app.test_client()
    Auth(client).login("ld")
    page = client.get("/page/leader.city").get_data(as_text=True)
    assert "管理员已锁定此页面" in page and "添加栏目</a>" not in page
    for action, body in (("move", {"windows": [{"id": "notices", "x": 8, "y": 6, "w": 4,
                                                 "h": 6}]}),
                         ("add", {"portlet": "today"}), ("remove", {"window": "stats"})):
        r = client.post(f"/layout/leader.city/{action}", json={"version": 0, **body})
        assert r.status_code == 403, (action, r.data)
    assert _rows(db_app) == []
