"""Office affairs in Chromium: two people book the same meeting room; the second is refused
and sees, in Chinese, which booking is in the way. Also screenshots of the new portlets
(综合事务, 督查督办, 本周日程) on a homepage and of the calendar and supervision pages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from portal.toolkit import Principal
from portlets.supervision import service as supervision
from tests.affairs.conftest import add_rooms_and_cars
from tests.browser.conftest import full_screenshot, signed_in_page
from tests.conftest import make_app, seed_org

LAYOUT = """
post: {post}
pages:
  - id: home
    title: 工作台
    title_en: Workbench
    windows:
      - {{id: affairs, portlet: affairs, x: 0, y: 0, w: 6, h: 5}}
      - {{id: calendar_week, portlet: calendar_week, x: 6, y: 0, w: 6, h: 5}}
      - {{id: supervision, portlet: supervision, x: 0, y: 5, w: 6, h: 4}}
      - {{id: todo, portlet: todo, x: 6, y: 5, w: 6, h: 4}}
"""
DAY = date.today() + timedelta(days=1)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    for post in ("inspector", "account_manager"):
        (layouts / f"{post}.yaml").write_text(LAYOUT.format(post=post), encoding="utf-8")
    app = make_app(f"sqlite:///{tmp_path}/p.db", LAYOUTS_DIR=str(layouts),
                   WTF_CSRF_ENABLED=True)
    org = seed_org(app)
    app.config["TEST_ORG"] = org
    app.config["TEST_IDS"] = add_rooms_and_cars(app)
    with app.app_context():  # a leader's tasks for the inspector: one overdue, one on time
        s = app.extensions["portal"].db.session()
        leader = Principal(person_id=org.people["ld"], username="ld", display_name="钱领导",
                           org_unit_id=org.city, posts=("leader",))
        week_ago = datetime.now() - timedelta(days=7)
        supervision.create(s, leader, "报送三季度市场检查情况", "", f"person:{org.people['zg']}",
                           datetime.now() - timedelta(days=1), now=week_ago)
        supervision.create(s, leader, "落实卷烟市场专项整治行动", "",
                           f"person:{org.people['zg']}", datetime.now() + timedelta(days=3))
        s.commit()
    yield app
    app.extensions["portal"].db.engine.dispose()



def _book(page: Any, base: str, start: str, end: str, title: str) -> None:
    page.goto(f"{base}/affairs/rooms?day={DAY.isoformat()}")
    page.select_option("#room", label="第一会议室（30 座）")
    page.fill("#day", DAY.isoformat())
    page.fill("#start", start)
    page.fill("#end", end)
    page.fill("#title", title)
    page.click("#book-form button.primary")
    page.wait_for_load_state()


def test_double_booking_is_refused_in_the_browser(live_server, browser,  # type: ignore[no-untyped-def]
                                                  screenshot_dir) -> None:
    base = live_server.url
    zg = signed_in_page(browser, base, "zg")
    km = signed_in_page(browser, base, "km")
    # Both open the booking page before either books: the second form is not stale, the
    # room simply is taken by the time it is sent.
    _book(zg, base, "10:00", "11:30", "专卖执法案件研判会")
    assert "已预订会议室：专卖执法案件研判会" in zg.content()
    assert zg.locator("tr[data-room='第一会议室'] .affairs-slot").count() == 1

    _book(km, base, "11:00", "12:00", "客户经理业务培训")
    alert = km.get_by_role("alert")
    assert alert.is_visible()
    message = alert.inner_text()
    assert "第一会议室" in message and "已被预订" in message
    assert "专卖执法案件研判会" in message and "张专管" in message
    assert "10:00" in message and "11:30" in message
    # The form keeps what was typed, and nothing was saved.
    assert km.input_value("#title") == "客户经理业务培训"
    assert km.locator("tr[data-room='第一会议室'] .affairs-slot").count() == 1
    full_screenshot(km, screenshot_dir / "affairs-double-booking-refused.png")

    # A free slot in the same room goes through.
    _book(km, base, "13:00", "14:00", "客户经理业务培训")
    assert km.locator("tr[data-room='第一会议室'] .affairs-slot").count() == 2
    full_screenshot(km, screenshot_dir / "affairs-rooms.png")

    # The homepage windows: my booking, the week agenda, supervision with the overdue task red.
    zg.goto(base + "/")
    zg.wait_for_selector(".affairs-window")
    zg.wait_for_selector(".cal-week")
    assert "专卖执法案件研判会" in zg.locator(".affairs-window").inner_text()
    # The week agenda is this calendar week: on a Sunday, tomorrow's meeting is next week's.
    this_week = DAY.isocalendar()[:2] == date.today().isocalendar()[:2]
    assert ("专卖执法案件研判会" in zg.locator(".cal-week").inner_text()) == this_week
    late = zg.locator(".supervision-window li.supervision-late")
    assert late.count() == 1 and "报送三季度市场检查情况" in late.inner_text()
    full_screenshot(zg, screenshot_dir / "affairs-homepage.png")
    zg.goto(base + "/calendar/")
    assert zg.locator(f"td[data-day='{DAY.isoformat()}'] .cal-event").count() >= 1
    full_screenshot(zg, screenshot_dir / "calendar-month.png")
    zg.goto(base + "/supervision/")
    full_screenshot(zg, screenshot_dir / "supervision-list.png")
    for p in (zg, km):
        p.context.close()
