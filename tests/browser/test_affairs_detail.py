"""In Chromium: a vehicle request from the list to its own page, decided and dispatched by the
office there, its history seen by the requester; and a calendar subscription address made on
the calendar page and fetched without a session. Screenshots of both pages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import icalendar
import pytest
from flask import Flask

from tests.affairs.conftest import add_rooms_and_cars
from tests.browser.conftest import full_screenshot, signed_in_page
from tests.conftest import make_app, seed_org

DAY = date.today() + timedelta(days=2)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = make_app(f"sqlite:///{tmp_path}/p.db", WTF_CSRF_ENABLED=True)
    app.config["TEST_ORG"] = seed_org(app)
    app.config["TEST_IDS"] = add_rooms_and_cars(app)
    yield app
    app.extensions["portal"].db.engine.dispose()


def test_vehicle_request_page_and_calendar_subscription(  # type: ignore[no-untyped-def]
        live_server, browser, screenshot_dir) -> None:
    base = live_server.url
    zg = signed_in_page(browser, base, "zg")
    zg.goto(f"{base}/affairs/vehicles")
    zg.fill("#v-dest", "海宁市局")
    zg.fill("#v-purpose", "零售户季度走访")
    zg.fill("#v-pass", "3")
    zg.fill("#v-start", f"{DAY.isoformat()}T08:30")
    zg.fill("#v-end", f"{DAY.isoformat()}T17:00")
    zg.click("form.affairs-form button.primary")
    zg.wait_for_load_state()

    bg = signed_in_page(browser, base, "bg")
    bg.goto(f"{base}/affairs/vehicles")
    bg.click("tr[data-request] a")  # the office's list links to the request's page
    bg.wait_for_selector("form[data-action=decide]")
    assert "/affairs/vehicles/" in bg.url
    bg.fill("form[data-action=decide] input[name=comment]", "注意行车安全")
    bg.click("form[data-action=decide] button.primary")
    bg.wait_for_selector("form[data-action=dispatch]")  # back on the page, next step offered
    bg.click("form[data-action=dispatch] button.primary")
    bg.wait_for_selector(".affairs-history li[data-action=dispatched]")

    zg.goto(bg.url)
    text = zg.locator("main").inner_text()
    assert "用车申请" in text and "处理记录" in text and "浙F·A1234" in text
    assert zg.locator(".affairs-history li").count() == 3
    assert zg.locator("form[data-action=cancel]").count() == 1
    assert zg.locator("form[data-action=decide]").count() == 0
    full_screenshot(zg, screenshot_dir / "affairs-vehicle-request-page.png")

    # 403 for a colleague, in Chinese
    km = signed_in_page(browser, base, "km")
    response = km.goto(bg.url)
    assert response is not None and response.status == 403
    assert "只有申请人和办公室" in km.locator("body").inner_text()

    zg.goto(f"{base}/calendar/")
    zg.click("#subscribe button[value=create]")
    zg.wait_for_selector("#feed-url")
    url = zg.input_value("#feed-url")
    assert url.startswith(base + "/calendar/ics/") and url.endswith(".ics")
    full_screenshot(zg, screenshot_dir / "calendar-subscription.png")
    fetched = browser.new_context().request.get(url)  # no cookies: the token alone
    assert fetched.status == 200
    assert icalendar.Calendar.from_ical(fetched.body()) is not None
