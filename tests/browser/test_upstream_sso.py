"""Signing in through an upstream identity provider in Chromium: the relying party's sign-in
page shows "使用省局统一身份登录"; clicking it leads to the provider's password form (another
portal, on another host), and back to the relying party's homepage, signed in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import full_screenshot
from tests.conftest import PASSWORD
from tests.sso.upstream_support import Pair, start_pair


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    done: list[Callable[[], None]] = []
    yield start_pair(tmp_path, f"sqlite:///{tmp_path}/rp.db", done.append)
    for close in reversed(done):
        close()


def test_sign_in_through_the_provincial_platform(pair: Pair, page: Any,
                                                 screenshot_dir: Path) -> None:
    page.goto(pair.rp_url + "/login")
    button = page.locator("a.sign-in-method", has_text="使用省局统一身份登录")
    assert button.is_visible()
    full_screenshot(page, screenshot_dir / "upstream-login-page.png")
    button.click()
    page.wait_for_url(pair.idp_url + "/login**")
    page.fill("#username", "xw")
    page.fill("#password", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(pair.rp_url + "/")
    assert "徐新" in page.locator("header.topbar").inner_text()
    full_screenshot(page, screenshot_dir / "upstream-signed-in.png")

    # Signing out ends both sessions and comes back to the relying party's sign-in page.
    page.click("header form[action='/logout'] button")
    page.wait_for_url(pair.rp_url + "/login")
    page.goto(pair.idp_url + "/")
    assert page.url.startswith(pair.idp_url + "/login")


def test_stale_callback_shows_a_readable_page(pair: Pair, page: Any,
                                              screenshot_dir: Path) -> None:
    response = page.goto(pair.rp_url + "/login/upstream/province/callback?state=old&code=x")
    assert response.status == 400
    assert "该登录链接已失效或已使用" in page.locator("main").inner_text()
    full_screenshot(page, screenshot_dir / "upstream-refused.png")
