"""Fixtures for the browser tests: a live server and headless Chromium through Playwright.

The tests in this folder define (or inherit from ``tests/conftest.py``) an ``app`` fixture that
returns the Flask application to serve; ``live_server`` serves whatever ``app`` gives, so a test
module can override ``app`` to serve a differently configured portal::

    def test_homepage(live_server, page, screenshot_dir):
        page.goto(live_server.url + "/login")
        page.screenshot(path=screenshot_dir / "login.png")

Fixtures:

``live_server``
    The ``app`` served by werkzeug's ``make_server`` (threaded) in a background thread on a
    free port of 127.0.0.1; ``live_server.url`` is its base URL (``http://127.0.0.1:PORT``).
    It has the scope of the test (``app`` is per test in ``tests/conftest.py``); starting it
    takes a few milliseconds.
``browser``
    Headless Chromium (Debian's ``chromium`` package, never a downloaded one: do not run
    ``playwright install``), launched once per session with the flags this machine needs.
``page``
    A page in a fresh browser context (no cookies shared between tests), closed afterwards.
``screenshot_dir``
    ``test-output/screenshots`` at the repository root, created if missing.

Nothing here skips: when Chromium or Playwright is missing the fixtures FAIL with a message
that says what to install (``make install`` installs both).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test in this folder drives Chromium: mark it ``browser`` (``-m "not browser"``)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)


@dataclass
class LiveServer:
    """A running server: ``url`` is the base URL, without a trailing slash."""

    app: Flask
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __str__(self) -> str:
        return self.url


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    """Serve the test's ``app`` on a free port of 127.0.0.1 until the test ends."""
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app, "127.0.0.1", server.server_port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _chromium() -> str:
    for path in CHROMIUM_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    pytest.fail(
        "Chromium not found at "
        + " or ".join(CHROMIUM_CANDIDATES)
        + ": install the Debian package `chromium` (scripts/install-system.sh, or `make install`)."
        " Do not run `playwright install`.",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright's sync API, shared by the session."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.fail(f"Playwright is not installed ({exc}): run `make venv`.", pytrace=False)
    executable = _chromium()
    with sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(
                executable_path=executable, args=CHROMIUM_ARGS, headless=True, timeout=60_000
            )
        except PlaywrightError as exc:
            pytest.fail(f"Chromium ({executable}) did not start: {exc}", pytrace=False)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A page in its own browser context: each test starts signed out, in Chinese."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """``test-output/screenshots`` at the repository root (created)."""
    path = ROOT / "test-output" / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def full_screenshot(page: Any, path: Any) -> None:
    """The whole page, taken by growing the viewport to it rather than with ``full_page``.

    Chromium's full-page capture of a page whose script lays the grid out again on every
    resize (GridStack, ECharts) sometimes never settles and times out; a viewport that already
    holds the whole page needs no resize during the capture.
    """
    size = page.viewport_size or {"width": 1280, "height": 900}
    height = int(page.evaluate("document.documentElement.scrollHeight"))
    if height > size["height"]:
        page.set_viewport_size({"width": size["width"], "height": height})
        page.wait_for_timeout(300)
    page.screenshot(path=str(path), animations="disabled")
    page.set_viewport_size(size)


def signed_in_page(browser: Any, base: str, username: str) -> Any:
    """A page of a new browser context (zh-CN, 1280×900) signed in as *username* (the test
    password), on the homepage: one person of a test that several people act in."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(base + "/")
    return page
