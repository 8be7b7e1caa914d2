"""Single sign-on in Chromium: the portal and the example 营销系统 (examples/marketing-rp) run as
real servers on free ports; the person signs in once, and signing out of the portal signs them
out of the marketing system too (back-channel logout)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.browser.conftest import ROOT
from tests.conftest import PASSWORD, make_app, seed_org
from tests.sso.oidc_support import register

sys.path.insert(0, str(ROOT / "examples" / "marketing-rp"))


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = make_app(f"sqlite:///{tmp_path}/p.db", WTF_CSRF_ENABLED=True)
    seed_org(app)
    yield app
    app.extensions["portal"].db.engine.dispose()


@pytest.fixture
def marketing(app: Flask, live_server: Any) -> Iterator[Any]:
    """营销系统, registered with the portal as a first-party client, served on its own port."""
    from marketing_rp import create_app as create_rp

    holder: dict[str, Any] = {}
    server = make_server("127.0.0.1", 0, lambda env, start: holder["app"](env, start),
                         threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    client = register(app, redirect_uri=f"{base}/callback",
                      post_logout_redirect_uris=[f"{base}/"],
                      backchannel_logout_uri=f"{base}/backchannel-logout")
    rp = holder["app"] = create_rp({"PORTAL_URL": live_server.url, "SECRET_KEY": "rp-test",
                                    "CLIENT_ID": client.client_id,
                                    "CLIENT_SECRET": client.secret})
    rp.config["BASE"] = base
    thread = threading.Thread(target=server.serve_forever, name="marketing-rp", daemon=True)
    thread.start()
    try:
        yield rp
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_sign_in_once_and_sign_out_everywhere(live_server: Any, marketing: Any, page: Any,
                                              screenshot_dir: Path) -> None:
    portal, rp = live_server.url, marketing.config["BASE"]
    page.goto(portal + "/login")
    page.fill("#username", "zg")
    page.fill("#password", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(portal + "/")

    page.goto(rp + "/")
    assert page.locator("#status").inner_text() == "未登录"
    visited: list[str] = []
    page.on("request", lambda req: visited.append(req.url))
    page.click("#sign-in")
    page.wait_for_url(rp + "/")
    assert page.locator("#status").inner_text() == "已登录：张专管"
    assert page.locator("#username").inner_text() == "zg"
    # It went through the portal's authorize endpoint and never showed a password form.
    assert any(u.startswith(portal + "/oidc/authorize") for u in visited)
    assert not any(u.startswith(portal + "/login") for u in visited)
    assert page.locator("input[type=password]").count() == 0
    page.screenshot(path=screenshot_dir / "oidc-marketing-signed-in.png")

    page.goto(portal + "/")
    page.click("header form[action='/logout'] button")
    page.wait_for_url(portal + "/login")

    page.goto(rp + "/")
    assert page.locator("#status").inner_text() == "未登录"
    page.screenshot(path=screenshot_dir / "oidc-marketing-signed-out.png")


def test_consent_page_and_rp_initiated_logout(app: Flask, live_server: Any, marketing: Any,
                                              page: Any, screenshot_dir: Path) -> None:
    """A third-party client gets the consent page; the RP's own "退出" signs out of the portal."""
    from sqlalchemy import update

    from sso.oidc.models import OidcClient

    with app.app_context():
        db = app.extensions["portal"].db.session()
        db.execute(update(OidcClient).values(first_party=False))
        db.commit()
    portal, rp = live_server.url, marketing.config["BASE"]
    page.goto(rp + "/login")
    page.wait_for_url(portal + "/login**")  # not signed in to the portal yet
    page.fill("#username", "zg")
    page.fill("#password", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(portal + "/oidc/authorize**")
    page.screenshot(path=screenshot_dir / "oidc-consent.png")
    page.click("button[value=allow]")
    page.wait_for_url(rp + "/")
    assert page.locator("#status").inner_text() == "已登录：张专管"

    page.click("text=退出")
    page.wait_for_url(rp + "/?state=**")
    assert page.locator("#status").inner_text() == "未登录"
    page.goto(portal + "/")
    assert page.url.startswith(portal + "/login")  # the portal session ended too
