"""The page aggregator: isolation, timeouts, circuit breaker, caching, ETags, health."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask import Flask

from tests.conftest import Auth, Org, make_app, seed_org
from tests.plugins import misbehaving

if TYPE_CHECKING:
    from portal.auth import Principal

LAYOUT = """
post: inspector
title: 专管员
pages:
  - id: home
    title: 首页
    windows:
      - {id: a, portlet: raiser, x: 0, y: 0, w: 4, h: 2}
      - {id: b, portlet: hanger, x: 4, y: 0, w: 4, h: 2}
      - {id: c, portlet: counter, x: 8, y: 0, w: 4, h: 2}
      - {id: d, portlet: slow_ok, x: 0, y: 2, w: 4, h: 2}
      - {id: e, portlet: leaders_only, x: 4, y: 2, w: 4, h: 2}
      - {id: f, portlet: below_fold, x: 8, y: 2, w: 4, h: 2}
"""


@pytest.fixture
def bad_app(tmp_path: Path) -> Iterator[Flask]:
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "inspector.yaml").write_text(LAYOUT, encoding="utf-8")
    misbehaving.RELEASE.clear()
    app = make_app(f"sqlite:///{tmp_path}/p.db", LAYOUTS_DIR=str(layouts),
                   PLUGINS=[("misbehaving", misbehaving)], BREAKER_THRESHOLD=2,
                   BREAKER_COOLDOWN=60.0)
    yield app
    misbehaving.RELEASE.set()


@pytest.fixture
def signed_in(bad_app: Flask) -> tuple[Flask, Auth, Org]:
    org = seed_org(bad_app)
    auth = Auth(bad_app.test_client())
    auth.login("zg")
    return bad_app, auth, org


def test_failing_portlets_do_not_break_the_page(signed_in, caplog) -> None:  # type: ignore[no-untyped-def]
    _app, auth, _org = signed_in
    started = time.monotonic()
    resp = auth.client.get("/")
    elapsed = time.monotonic() - started
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "slow but fine" in html  # the good ones render
    assert "render #" in html
    assert html.count('class="window-error"') == 2  # raiser and hanger
    assert 'hx-get="/w/inspector.home/a"' in html  # retry link of the raiser
    # The hanger would block for 5 s; its window gives up after 0.3 s. The bound is loose
    # (a busy CI machine), but fails if the page waited for the hanging portlet.
    assert elapsed < 3.0
    assert "raiser" in caplog.text and "hanger" in caplog.text
    assert "leaders_only" not in html  # not allowed for this post: not on the page


def test_circuit_breaker_skips_a_failing_portlet(signed_in) -> None:  # type: ignore[no-untyped-def]
    app, auth, _org = signed_in
    for _ in range(2):
        auth.client.get("/w/inspector.home/a")
    stats = app.extensions["portal"].aggregator.stats["raiser"]
    assert stats.errors == 2 and stats.breaker_state() == "open"
    resp = auth.client.get("/w/inspector.home/a")
    assert resp.status_code == 503
    assert stats.errors == 2 and stats.skipped == 1  # not called again
    health = {r["portlet"]: r for r in app.extensions["portal"].aggregator.health()}
    assert health["raiser"]["breaker"] == "open"


def test_fragment_cache_and_etag(signed_in) -> None:  # type: ignore[no-untyped-def]
    app, auth, org = signed_in
    misbehaving.RENDERS["counter"] = 0
    first = auth.client.get("/w/inspector.home/c")
    assert first.status_code == 200 and misbehaving.RENDERS["counter"] == 1
    etag = first.headers["ETag"]
    again = auth.client.get("/w/inspector.home/c", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert misbehaving.RENDERS["counter"] == 1  # served from the cache
    with app.app_context():
        app.extensions["portal"].cache.invalidate("counter", user=org.people["zg"])
    fresh = auth.client.get("/w/inspector.home/c", headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and misbehaving.RENDERS["counter"] == 2
    assert fresh.headers["ETag"] != etag


def test_invalidation_is_scoped_to_the_user(signed_in) -> None:  # type: ignore[no-untyped-def]
    app, auth, org = signed_in
    misbehaving.RENDERS["counter"] = 0
    auth.client.get("/w/inspector.home/c")
    with app.app_context():
        app.extensions["portal"].cache.invalidate("counter", user=org.people["km"])
    auth.client.get("/w/inspector.home/c")
    assert misbehaving.RENDERS["counter"] == 1  # another user's change: still cached


def test_forbidden_and_unknown_windows(signed_in) -> None:  # type: ignore[no-untyped-def]
    _app, auth, _org = signed_in
    assert auth.client.get("/w/inspector.home/e").status_code == 403
    assert auth.client.get("/w/inspector.home/zz").status_code == 404
    resp = auth.client.get("/page/nosuch.page")
    assert resp.status_code == 404
    assert "不存在" in resp.get_data(as_text=True)


def test_admin_health_page_lists_portlets(signed_in) -> None:  # type: ignore[no-untyped-def]
    _app, auth, _org = signed_in
    auth.client.get("/")
    assert auth.client.get("/admin/health").status_code == 403  # inspectors are not admins
    auth.logout()
    auth.login("admin")
    html = auth.client.get("/admin/health").get_data(as_text=True)
    # admin has no layout file: default page; the aggregator's stats are process-wide
    assert "raiser" in html and "p95" in html


def test_post_invalidation_reaches_people_with_several_posts(app: Flask) -> None:
    from portal.auth import Principal
    from portal.portlet import CachePolicy, Portlet, Variance

    portlet = Portlet(id="by_post", title="t", render=lambda ctx: "",
                      cache=CachePolicy(ttl=60, vary=Variance.POST))
    two_posts = Principal(1, "u", "U", 1, posts=("inspector", "dept_head"))
    with app.test_request_context():
        cache = app.extensions["portal"].cache
        [before] = cache.keys_for([(portlet, "view", {}, "w")], two_posts, "zh_CN")
        cache.invalidate("by_post", post="dept_head")
        [after] = cache.keys_for([(portlet, "view", {}, "w")], two_posts, "zh_CN")
        assert before is not None and after is not None and before.key != after.key
        cache.invalidate("by_post", post="deliveryman")  # a post they do not hold
        [same] = cache.keys_for([(portlet, "view", {}, "w")], two_posts, "zh_CN")
        assert same == after


def test_lazy_window_loads_after_the_shell(signed_in) -> None:  # type: ignore[no-untyped-def]
    _app, auth, _org = signed_in
    html = auth.client.get("/").get_data(as_text=True)
    assert "loaded later" not in html
    assert 'hx-get="/w/inspector.home/f" hx-trigger="load"' in html
    # Without JavaScript the placeholder offers the window on a page of its own.
    assert 'href="/page/inspector.home/f"' in html
    assert "loaded later" in auth.client.get("/w/inspector.home/f").get_data(as_text=True)
    assert "loaded later" in auth.client.get("/page/inspector.home/f").get_data(as_text=True)


def test_a_window_done_after_its_own_deadline_is_a_timeout(bad_app: Flask) -> None:
    """The page waits for its windows together (one wake-up) up to the latest deadline still
    open, but each window is judged against its own: one that finishes after its deadline,
    while the page still waits for a slower window, is a timeout, not its late output."""
    from portal.aggregator import WindowRequest
    from portal.portlet import CachePolicy, Portlet

    def late(_ctx: object) -> str:
        time.sleep(0.4)
        return "<p>too late</p>"

    def patient(_ctx: object) -> str:
        time.sleep(0.8)
        return "<p>in time</p>"

    windows = [
        WindowRequest("late", Portlet(id="t_late", title="Late", render=late, timeout=0.2,
                                      cache=CachePolicy(ttl=0)), {}),
        WindowRequest("patient", Portlet(id="t_patient", title="Patient", render=patient,
                                         timeout=3.0, cache=CachePolicy(ttl=0)), {}),
    ]
    with bad_app.test_request_context("/"):
        out = bad_app.extensions["portal"].aggregator.render(
            windows, _principal(), "zh_CN", keys=[None, None])
    by_id = {w.window_id: w for w in out}
    assert by_id["late"].status == "timeout"
    assert "too late" not in by_id["late"].html
    assert by_id["patient"].status == "ok" and "in time" in by_id["patient"].html


def test_every_timeout_can_be_scaled_for_a_slow_machine(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from portal.portlet import Portlet

    app = make_app(f"sqlite:///{tmp_path}/t.db", PORTLET_TIMEOUT=2.0, PORTLET_TIMEOUT_SCALE=3.0)
    aggregator = app.extensions["portal"].aggregator
    assert aggregator.timeout_for(Portlet(id="own", title="Own", render=str, timeout=1.5)) == 4.5
    assert aggregator.timeout_for(Portlet(id="default", title="Default", render=str)) == 6.0
    app.extensions["portal"].db.engine.dispose()


def _principal() -> Principal:
    from portal.auth import Principal

    return Principal(person_id=1, username="zg", display_name="ZG", org_unit_id=None)


def _render_direct(app: Flask, windows: list) -> dict:  # type: ignore[type-arg]
    with app.test_request_context("/"):
        out = app.extensions["portal"].aggregator.render(
            windows, _principal(), "zh_CN", keys=[None] * len(windows))
    return {w.window_id: w for w in out}


def _portlet(name: str, render, timeout: float = 2.0):  # type: ignore[no-untyped-def]
    from portal.portlet import CachePolicy, Portlet

    return Portlet(id=f"t_{name}", title=name, render=render, timeout=timeout,
                   cache=CachePolicy(ttl=0))


def test_windows_that_only_compute_share_one_render_thread(bad_app: Flask) -> None:
    """Handing quick windows around several threads costs CPU under the GIL and gains nothing:
    a page takes a second thread only when a window holds the first past the stagger."""
    import threading

    from portal.aggregator import WindowRequest

    threads: set[int] = set()

    def quick(_ctx: object) -> str:
        threads.add(threading.get_ident())
        return "<p>quick</p>"

    windows = [WindowRequest(f"w{i}", _portlet(f"quick{i}", quick), {}) for i in range(6)]
    by_id = _render_direct(bad_app, windows)
    assert all(w.status == "ok" for w in by_id.values())
    assert len(threads) == 1


def test_a_window_that_computes_keeps_the_page_on_one_thread(bad_app: Flask) -> None:
    """A window busy computing for longer than the stagger is not waiting on anything: a
    second thread would only contend with it for the GIL (a third more CPU per page on a busy
    worker, measured), so the page keeps to one."""
    import threading

    from portal.aggregator import WindowRequest

    threads: set[int] = set()

    def computing(_ctx: object) -> str:
        threads.add(threading.get_ident())
        spent = time.thread_time() + 0.12  # six staggers of the thread's own CPU time
        while time.thread_time() < spent:
            sum(range(1000))
        return "<p>computed</p>"

    def quick(_ctx: object) -> str:
        threads.add(threading.get_ident())
        return "<p>quick</p>"

    windows = [WindowRequest("busy", _portlet("computing", computing, timeout=5.0), {}),
               *(WindowRequest(f"w{i}", _portlet(f"quick{i}", quick), {}) for i in range(3))]
    by_id = _render_direct(bad_app, windows)
    assert all(w.status == "ok" for w in by_id.values())
    assert len(threads) == 1


def test_a_window_that_waits_does_not_hold_up_the_others(bad_app: Flask) -> None:
    """The first window waits for the second (as for a remote system): the page must start a
    second thread for the queue, or the first would time out and the second never run."""
    import threading

    from portal.aggregator import WindowRequest

    second_done = threading.Event()

    def waiting(_ctx: object) -> str:
        return "<p>got it</p>" if second_done.wait(1.5) else "<p>never</p>"

    def second(_ctx: object) -> str:
        second_done.set()
        return "<p>second</p>"

    windows = [WindowRequest("first", _portlet("waiting", waiting, timeout=3.0), {}),
               WindowRequest("second", _portlet("second", second), {})]
    started = time.monotonic()
    by_id = _render_direct(bad_app, windows)
    assert "got it" in by_id["first"].html and by_id["second"].status == "ok"
    # The stagger is 20 ms; the bound is loose for a busy machine, but far below the 1.5 s
    # the first window would wait if the second one ran after it.
    assert time.monotonic() - started < 1.0


def test_render_threads_work_in_the_page_request(bad_app: Flask) -> None:
    """A window rendered on a render thread sees the request as the page does: the same
    ``g`` (so what the request worked out, such as the principal, is not worked out again),
    the request's teardown runs once, on the page's thread, and the thread's own database
    session is given back when it has rendered its windows."""
    import threading

    from flask import g, request

    from portal.aggregator import WindowRequest
    from portal.db import db_session

    seen: dict[str, object] = {}
    teardowns: list[int] = []
    bad_app.teardown_request(lambda _exc: teardowns.append(threading.get_ident()))

    def probe(_ctx: object) -> str:
        seen.update(thread=threading.get_ident(), g=g._get_current_object(),  # type: ignore[attr-defined]
                    path=request.path, marker=g.get("page_marker"))
        session = db_session()
        session.connection()  # the thread checks out a connection of its own
        seen["session"] = session
        return "<p>probed</p>"

    engine = bad_app.extensions["portal"].db.engine
    with bad_app.test_request_context("/somewhere"):
        g.page_marker = "set by the page"
        page_g = g._get_current_object()  # type: ignore[attr-defined]
        out = bad_app.extensions["portal"].aggregator.render(
            [WindowRequest("p", _portlet("probe", probe), {})], _principal(), "zh_CN",
            keys=[None])
        assert out[0].status == "ok"
        assert seen["thread"] != threading.get_ident()
        assert seen["g"] is page_g and seen["marker"] == "set by the page"
        assert seen["path"] == "/somewhere"
        assert teardowns == []  # the render thread did not end the request
    assert teardowns == [threading.get_ident()]
    # The render thread's session was removed: its connection is back in the pool.
    assert not seen["session"].in_transaction()  # type: ignore[attr-defined]
    assert engine.pool.checkedout() == 0
