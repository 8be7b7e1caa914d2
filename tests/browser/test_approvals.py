"""网上审批 in Chromium: a five-day leave goes to the department head, then to a leader; the
applicant could still withdraw it, the head approves, the leader approves, and
the applicant sees the whole chain. Screenshots of the form, the request and the portlet."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask

from tests.browser.conftest import full_screenshot, signed_in_page
from tests.conftest import make_app, seed_org

LAYOUT = """
post: {post}
pages:
  - id: home
    title: 工作台
    title_en: Workbench
    windows:
      - {{id: approvals, portlet: approvals, x: 0, y: 0, w: 6, h: 5}}
      - {{id: calendar_week, portlet: calendar_week, x: 6, y: 0, w: 6, h: 5}}
"""
FIRST = date.today() + timedelta(days=7 - date.today().weekday())  # next Monday


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    for post in ("inspector", "dept_head", "leader"):
        (layouts / f"{post}.yaml").write_text(LAYOUT.format(post=post), encoding="utf-8")
    app = make_app(f"sqlite:///{tmp_path}/p.db", LAYOUTS_DIR=str(layouts),
                   WTF_CSRF_ENABLED=True)
    app.config["TEST_ORG"] = seed_org(app)
    yield app
    app.extensions["portal"].db.engine.dispose()



def test_leave_through_head_and_leader(live_server, browser, screenshot_dir) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    zg = signed_in_page(browser, base, "zg")
    zg.goto(base + "/approvals/new/leave")
    zg.select_option("#leave_type", "annual")
    zg.fill("#first_day", FIRST.isoformat())
    zg.fill("#last_day", (FIRST + timedelta(days=4)).isoformat())
    zg.fill("#days", "5")
    zg.fill("#reason", "回老家探亲")
    full_screenshot(zg, screenshot_dir / "approvals-new-leave.png")
    zg.click("#request-form button.primary")
    zg.wait_for_url(f"{base}/approvals/*")
    request_url = zg.url
    assert zg.locator(".approval-step").count() == 2
    assert "部门负责人审批" in zg.content() and "分管领导审批" in zg.content()
    assert zg.locator("form[data-action=withdraw]").count() == 1  # nobody decided yet

    bm = signed_in_page(browser, base, "bm")
    full_screenshot(bm, screenshot_dir / "approvals-portlet-head.png")
    bm.locator(".approvals-window a", has_text="年休假").first.click()
    bm.wait_for_url(request_url)
    bm.fill("#approve-comment", "同意，注意交接工作")
    bm.click("form[data-action=approve] button")
    bm.wait_for_load_state()
    assert "吴部长 已同意" in bm.content()

    ld = signed_in_page(browser, base, "ld")
    ld.goto(request_url)
    ld.click("form[data-action=approve] button")
    ld.wait_for_load_state()
    zg.goto(request_url)
    assert zg.locator(".approval-status").inner_text() == "已同意"
    assert [li.get_attribute("data-action") for li in zg.locator(".list li[data-action]").all()] \
        == ["submit", "approve", "approve"]
    full_screenshot(zg, screenshot_dir / "approvals-request.png")
    zg.goto(base + f"/calendar/?month={FIRST:%Y-%m}")
    assert zg.locator(f"td[data-day='{FIRST.isoformat()}'] .cal-leave").count() == 1
    for p in (zg, bm, ld):
        p.context.close()
