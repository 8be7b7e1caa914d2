"""The customer trace page in Chromium: the purchase chart draws, the trace reads; screenshots
of it and of the exchange monitoring page."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from connectors.sim.systems import ChangeStream
from tests.conftest import PASSWORD, make_app
from tests.connectors.conftest import World, _shutdown, build_world
from tests.connectors.helpers import delivery, licence_txn, marketing_update


@pytest.fixture
def world(tmp_path: Any) -> Iterator[World]:
    app = make_app(f"sqlite:///{tmp_path}/portal.db", SIM_DIR=str(tmp_path / "sim"))
    w = build_world(app, weeks=40)
    list(ChangeStream(w.systems, random.Random(3)).run(300))
    licence_txn(w.systems, "330481100001", "BG", JYDZ="海宁市硖石街道文昌路88号")
    marketing_update(w.systems, "330401000001", grade_code="D21", cust_name="海宁测试便利店一号")
    delivery(w.systems, "330401000001", "PS-X", status="REFUSED", note="客户拒收")
    w.sync()
    yield w
    _shutdown(app, w)


@pytest.fixture
def app(world: World) -> Flask:
    return world.app


def _login(page: Any, url: str, username: str) -> None:
    page.goto(url + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button.primary")
    page.wait_for_selector("main")


def test_trace_page_draws_the_purchase_chart(world, live_server, page, screenshot_dir):
    page.set_viewport_size({"width": 1360, "height": 1600})
    _login(page, live_server.url, "km")
    page.goto(f"{live_server.url}/p/customer_trace/?q=海宁测试")
    page.click("text=海宁测试便利店1")
    page.wait_for_selector(".trace-chart canvas")
    assert page.locator("h1").first.inner_text().startswith("海宁测试便利店1")
    assert page.locator("text=来源不一致").count() >= 1
    assert page.locator("text=客户拒收").count() == 1
    page.screenshot(path=screenshot_dir / "customer-trace.png", full_page=True)


def test_exchange_page(world, live_server, page, screenshot_dir):
    page.set_viewport_size({"width": 1360, "height": 1000})
    _login(page, live_server.url, "admin")
    page.goto(f"{live_server.url}/exchange/")
    assert page.locator(".connector-ok").count() == 3
    page.screenshot(path=screenshot_dir / "exchange.png", full_page=True)
