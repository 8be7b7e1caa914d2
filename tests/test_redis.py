"""Production settings: Redis for the fragment cache and the sessions, PostgreSQL for data."""

from __future__ import annotations

import redis
from flask import Flask

from portal.near import MISSING
from tests.conftest import REDIS_URL, Auth, make_app, seed_org
from tests.plugins import misbehaving

LAYOUT = """
post: inspector
pages:
  - id: home
    title: 首页
    windows:
      - {id: c, portlet: counter, x: 0, y: 0, w: 4, h: 2}
"""


def _prod_app(pg_url: str, tmp_path, **extra: object) -> Flask:  # type: ignore[no-untyped-def]
    (tmp_path / "layouts").mkdir(exist_ok=True)
    (tmp_path / "layouts" / "inspector.yaml").write_text(LAYOUT, encoding="utf-8")
    return make_app(pg_url, REDIS_URL=REDIS_URL, LAYOUTS_DIR=str(tmp_path / "layouts"),
                    PLUGINS=[("misbehaving", misbehaving)], **extra)


def test_cache_and_sessions_are_shared_between_nodes(pg_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    redis.Redis.from_url(REDIS_URL).flushdb()
    node_a = _prod_app(pg_url, tmp_path)
    seed_org(node_a)
    node_b = _prod_app(pg_url, tmp_path)  # a second web node: same Redis, same database
    assert node_a.extensions["portal"].cache.shared

    a = Auth(node_a.test_client())
    a.login("zg")
    cookie = a.client.get_cookie("portal_session").value
    assert redis.Redis.from_url(REDIS_URL).exists(f"portal:session:{cookie}")
    b = node_b.test_client()
    b.set_cookie("portal_session", cookie)

    misbehaving.RENDERS["counter"] = 0
    assert a.client.get("/").status_code == 200
    assert misbehaving.RENDERS["counter"] == 1
    # Node B continues the session and is served the fragment node A cached.
    resp = b.get("/")
    assert resp.status_code == 200 and "render #1 for zg" in resp.get_data(as_text=True)
    assert misbehaving.RENDERS["counter"] == 1
    # An invalidation on node B reaches node A.
    with node_b.app_context():
        node_b.extensions["portal"].cache.invalidate("counter")
    assert "render #2" in a.client.get("/").get_data(as_text=True)

    # Signing out on one node ends the session everywhere.
    a.logout()
    assert b.get("/").status_code == 302
    for node in (node_a, node_b):
        node.extensions["portal"].db.engine.dispose()


def test_counters_ride_along_with_the_session(pg_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """After the first page, a session's counters come in the session's own round trip; an
    invalidation made meanwhile on another node is still seen at once."""
    redis.Redis.from_url(REDIS_URL).flushdb()
    node_a = _prod_app(pg_url, tmp_path)
    seed_org(node_a)
    node_b = _prod_app(pg_url, tmp_path)
    a = Auth(node_a.test_client())
    a.login("zg")
    misbehaving.RENDERS["counter"] = 0
    a.client.get("/")
    sid = a.client.get_cookie("portal_session").value
    assert node_a.extensions["portal"].cache.keys_for_session(sid)  # hint recorded
    with node_b.app_context():
        node_b.extensions["portal"].cache.invalidate("counter")
    assert "render #2" in a.client.get("/").get_data(as_text=True)
    for node in (node_a, node_b):
        node.extensions["portal"].db.engine.dispose()


def test_a_node_keeps_no_stale_copy_of_what_another_process_changed(pg_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The session and the counters are copies in the process (portal.near): another process
    that bumps a counter or ends the session is seen by the next request."""
    from tests.test_near import eventually

    server = redis.Redis.from_url(REDIS_URL)
    server.flushdb()
    node = _prod_app(pg_url, tmp_path)
    seed_org(node)
    store = node.session_interface.store  # type: ignore[attr-defined]
    assert store.near is not None and node.extensions["portal"].cache.counter_copies is store.near
    a = Auth(node.test_client())
    a.login("zg")
    misbehaving.RENDERS["counter"] = 0
    assert "render #1" in a.client.get("/").get_data(as_text=True)
    sid = a.client.get_cookie("portal_session").value
    assert "render #1" in a.client.get("/").get_data(as_text=True)
    # Served from the process's copies now: the session and the page's counters.
    assert MISSING not in store.near.get([f"portal:session:{sid}", "portal:v:counter"])

    server.incr("portal:v:counter")  # another web node's invalidation, straight in Redis
    assert eventually(lambda: "render #2" in a.client.get("/").get_data(as_text=True))
    server.delete(f"portal:session:{sid}")  # "sign out everywhere" on another node
    assert eventually(lambda: a.client.get("/").status_code == 302)
    node.extensions["portal"].db.engine.dispose()


def test_near_copies_can_be_turned_off(pg_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    redis.Redis.from_url(REDIS_URL).flushdb()
    node = _prod_app(pg_url, tmp_path, NEAR_CACHE=False)
    seed_org(node)
    assert node.session_interface.store.near is None  # type: ignore[attr-defined]
    a = Auth(node.test_client())
    a.login("zg")
    assert a.client.get("/").status_code == 200
    node.extensions["portal"].db.engine.dispose()
