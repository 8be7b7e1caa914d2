"""The homepage in a real browser: sign in, see the windows, retry a failed one with htmx,
use the page with JavaScript off, and on a phone-sized screen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.browser.conftest import full_screenshot
from tests.conftest import PASSWORD, make_app, seed_org
from tests.plugins.misbehaving import FLAKY, FlakyPlugin

LAYOUT = """
post: account_manager
pages:
  - id: home
    title: 工作台
    title_en: Workbench
    windows:
      - {id: notices, portlet: notices, x: 0, y: 0, w: 6, h: 4}
      - {id: todo, portlet: todo, x: 6, y: 0, w: 6, h: 4}
      - {id: flaky, portlet: flaky, x: 0, y: 4, w: 6, h: 2}
"""


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "account_manager.yaml").write_text(LAYOUT, encoding="utf-8")
    FLAKY["failures_left"] = 1
    app = make_app(f"sqlite:///{tmp_path}/p.db", LAYOUTS_DIR=str(layouts),
                   PLUGINS=[("flaky", FlakyPlugin())], WTF_CSRF_ENABLED=True)
    seed_org(app)
    yield app
    app.extensions["portal"].db.engine.dispose()


def sign_in(page: Any, base: str, username: str = "km") -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(base + "/")


def test_sign_in_and_see_the_homepage(live_server, page, screenshot_dir) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    page.goto(base + "/")
    assert page.url.startswith(base + "/login")
    page.screenshot(path=screenshot_dir / "login-zh_CN.png")
    sign_in(page, base)
    assert page.locator("section.window h2", has_text="工作通知").is_visible()
    assert page.locator("section.window h2", has_text="我的待办").is_visible()
    assert page.locator(".userbar .who").inner_text() == "王经理"
    # The flaky window failed on the first render: an error box with a retry link (htmx).
    flaky = page.locator("#w-flaky")
    assert flaky.locator(".window-error").is_visible()
    flaky.locator("a.retry").click()
    flaky.locator(".recovered").wait_for()
    assert page.url == base + "/"  # htmx swapped the window; no navigation
    full_screenshot(page, screenshot_dir / "homepage-account-manager-zh_CN.png")

    page.click("button[value='en']")
    page.wait_for_load_state()
    assert page.locator("section.window h2", has_text="Work notices").is_visible()
    page.click("text=Sign out")
    page.wait_for_url(base + "/login")


def test_the_page_works_without_javascript(browser, live_server, screenshot_dir) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(java_script_enabled=False, locale="zh-CN")
    page = context.new_page()
    try:
        base = live_server.url
        sign_in(page, base)
        assert page.locator("#w-notices h2").is_visible()
        # Minimize with the plain form button, then restore.
        page.click("#w-notices button[value='minimized']")
        page.wait_for_load_state()
        assert page.locator("#w-notices.minimized").count() == 1
        page.click("#w-notices button[value='normal']")
        page.wait_for_load_state()
        assert page.locator("#w-notices.minimized").count() == 0
        # Settings (edit mode) through the generated form.
        page.click("#w-notices a[aria-label='设置']")
        page.fill("#f-limit", "99")
        page.click("button.primary")
        assert page.locator(".field-error").inner_text() == "最大为 20。"
        page.fill("#f-limit", "5")
        page.click("button.primary")
        page.wait_for_url(base + "/page/account_manager.home#w-notices")
        full_screenshot(page, screenshot_dir / "homepage-no-javascript.png")
    finally:
        context.close()


def test_one_column_on_a_phone(browser, live_server, screenshot_dir) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 375, "height": 740}, locale="zh-CN")
    page = context.new_page()
    try:
        sign_in(page, live_server.url)
        boxes = [page.locator(f"#w-{w}").bounding_box() for w in ("notices", "todo")]
        assert boxes[0]["x"] == boxes[1]["x"]  # stacked, not side by side
        assert boxes[1]["y"] > boxes[0]["y"]
        assert boxes[0]["width"] <= 375
        full_screenshot(page, screenshot_dir / "homepage-375px.png")
    finally:
        context.close()
