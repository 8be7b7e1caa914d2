"""Notices arrive live on an open homepage: through the event stream fed by Redis from another
process, and through polling when the browser has no EventSource (the embedded mode here)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from werkzeug.serving import make_server

from portal import live
from portal.events import dispatch_pending
from portal.notify import Notification, notify
from tests.conftest import PASSWORD, REDIS_URL, ROOT, Org, make_app, seed_org

NOTIFY_SCRIPT = textwrap.dedent("""
    import sys
    from portal.app import create_app
    from portal.notify import Notification, notify

    app = create_app()
    with app.app_context():
        s = app.extensions["portal"].db.session()
        notify(s, Notification(kind="customer.license_changed", title=sys.argv[1],
                               link="/p/notices/", recipients=(int(sys.argv[2]),)))
        s.commit()
""")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """The production shape on one machine: sessions, cache and live updates in Redis."""
    redis.Redis.from_url(REDIS_URL).flushdb()
    app = make_app(f"sqlite:///{tmp_path}/portal.db", REDIS_URL=REDIS_URL, LIVE_HEARTBEAT=1.0)
    app.config["ORG"] = seed_org(app)
    yield app
    live.shutdown(app)
    app.extensions["portal"].db.engine.dispose()


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(base + "/")


def other_process(app: Flask, *args: str) -> None:
    """Run *args* (a ``portal`` command or a Python script) as a separate process on the same
    database and Redis as the served app."""
    settings = app.extensions["portal"].settings
    env = {**os.environ, "PORTAL_DATABASE_URL": settings["DATABASE_URL"],
           "PORTAL_REDIS_URL": settings["REDIS_URL"], "PORTAL_SECRET_KEY": "test-secret",
           "PORTAL_LAYOUTS_DIR": str(ROOT / "layouts")}
    done = subprocess.run(list(args), env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def badge(page: Any) -> Any:
    return page.locator('[data-live-badge="notices"]')


def test_a_notice_from_another_process_appears_live_for_its_recipient_only(
        app: Flask, live_server: Any, browser: Any, screenshot_dir: Path) -> None:
    org: Org = app.config["ORG"]
    base = live_server.url
    pages = {}
    for username in ("zg", "sh"):
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        pages[username] = context.new_page()
        sign_in(pages[username], base, username)
        # Waits are selectors, not wait_for_function: its polling evaluates the expression
        # with eval(), which the portal's CSP (no 'unsafe-eval') refuses once it has to poll.
        pages[username].locator("html[data-live='stream']").wait_for(state="attached")
        assert badge(pages[username]).get_attribute("data-count") == "0"
    zg, sh = pages["zg"], pages["sh"]
    try:
        # A sync worker's change: notify() commits the event in one process, the outbox
        # worker delivers it in another, Redis carries it to the web process and its stream.
        title = "许可证变更：海宁测试便利店0 有效期延至2028年"
        other_process(app, sys.executable, "-c", NOTIFY_SCRIPT, title, str(org.people["zg"]))
        other_process(app, str(Path(sys.executable).parent / "portal"), "worker", "--once")

        toast = zg.locator(".live-toast", has_text=title)
        toast.wait_for()
        zg.locator("#w-notices .notices-window li", has_text=title).wait_for()
        zg.locator("[data-live-badge=notices][data-count='1']").wait_for(state="attached")
        assert badge(zg).locator(".live-count").inner_text() == "1"
        assert zg.locator("#w-notices .badge-hot").inner_text().startswith("1")
        zg.screenshot(path=screenshot_dir / "live-notice-zh_CN.png")

        # The deliveryman's page heard nothing: no toast, count still 0, not in his window.
        sh.wait_for_timeout(1500)
        assert sh.locator(".live-toast").count() == 0
        assert badge(sh).get_attribute("data-count") == "0"
        assert sh.locator("#w-notices", has_text=title).count() == 0

        # Reading it in another tab brings the first tab's badge back to 0.
        link = zg.locator(".live-toast a", has_text=title).get_attribute("href")
        other_tab = zg.context.new_page()
        other_tab.goto(base + link)
        zg.locator("[data-live-badge=notices][data-count='0']").wait_for(state="attached")
    finally:
        for p in pages.values():
            p.context.close()


def test_streams_that_end_are_resumed_and_show_each_notice_once(
        app: Flask, live_server: Any, page: Any) -> None:
    """Streams end every second here (as they do after LIVE_STREAM_LIFETIME, or when a worker
    restarts); EventSource reconnects with Last-Event-ID and nothing shows twice."""
    org: Org = app.config["ORG"]
    app.extensions["portal"].settings["LIVE_STREAM_LIFETIME"] = 1.0
    base = live_server.url
    sign_in(page, base, "zg")
    page.locator("html[data-live='stream']").wait_for(state="attached")
    page.evaluate("""() => { window.liveKeys = [];
        document.addEventListener('portal:live', (e) => window.liveKeys.push(e.detail.key)); }""")
    for title in ("档位调整：D12 → D14", "许可证即将到期：海宁测试便利店1"):
        with app.app_context():
            s = app.extensions["portal"].db.session()
            notify(s, Notification(kind="customer.changed", title=title,
                                   recipients=(org.people["zg"],)))
            s.commit()
            dispatch_pending(app)
        page.locator(".live-toast", has_text=title).wait_for()
        page.wait_for_timeout(3000)  # three reconnects, each resuming after the last id
    keys = page.evaluate("window.liveKeys")
    assert len(keys) == 2 and len(set(keys)) == 2, keys
    assert page.locator(".live-toast").count() == 2
    assert page.evaluate("document.documentElement.dataset.live") == "stream"


@pytest.fixture
def embedded_app(tmp_path: Path) -> Iterator[Flask]:
    app = make_app(f"sqlite:///{tmp_path}/portal.db", LIVE_POLL_INTERVAL=1.0)
    app.config["ORG"] = seed_org(app)
    yield app
    live.shutdown(app)
    app.extensions["portal"].db.engine.dispose()


def test_polling_fallback_without_eventsource(embedded_app: Flask, page: Any,
                                              screenshot_dir: Path) -> None:
    server = make_server("127.0.0.1", 0, embedded_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    org: Org = embedded_app.config["ORG"]
    try:
        page.add_init_script("delete window.EventSource;")
        sign_in(page, base, "km")
        page.locator("html[data-live='poll']").wait_for(state="attached")
        # A request of another user raises it (embedded mode: dispatched inline after it).
        with embedded_app.app_context():
            s = embedded_app.extensions["portal"].db.session()
            notify(s, Notification(kind="customer.delivery_exception",
                                   title="送货异常：海宁测试便利店3 拒收",
                                   recipients=(org.people["km"],)))
            s.commit()
            dispatch_pending(embedded_app)
        page.locator(".live-toast", has_text="送货异常").wait_for()
        page.locator("#w-notices li", has_text="送货异常").wait_for()
        page.locator("[data-live-badge=notices][data-count='1']").wait_for(state="attached")
        page.screenshot(path=screenshot_dir / "live-polling-zh_CN.png")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
