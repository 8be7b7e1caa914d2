"""One work item's whole life in Chromium: create with an attachment → submit → the simulated
gateway received the SMS → the handler forwards → the next finishes → the originator rates →
it is archived → a leader finds it in the query and in the chart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from connectors.sms.gateway import RunningGateway, serve
from tests.browser.conftest import full_screenshot, signed_in_page
from tests.conftest import Org, make_app, seed_org

LAYOUT = """
post: account_manager
pages:
  - id: home
    title: 工作台
    title_en: Workbench
    windows:
      - {id: collab_todo, portlet: collab_todo, x: 0, y: 0, w: 6, h: 4}
      - {id: todo, portlet: todo, x: 6, y: 0, w: 6, h: 4}
"""
SUBJECT = "疑似销售非渠道卷烟（浏览器测试）"


@pytest.fixture
def gateway() -> Iterator[RunningGateway]:
    running = serve(0)
    yield running
    running.stop()


@pytest.fixture
def app(tmp_path: Path, gateway: RunningGateway) -> Iterator[Flask]:
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "account_manager.yaml").write_text(LAYOUT, encoding="utf-8")
    app = make_app(f"sqlite:///{tmp_path}/p.db", LAYOUTS_DIR=str(layouts),
                   WTF_CSRF_ENABLED=True, COLLAB_ATTACHMENTS_DIR=str(tmp_path / "files"),
                   SMS_GATEWAY_URL=gateway.url)
    app.config["TEST_ORG"] = seed_org(app)
    yield app
    app.extensions["portal"].db.engine.dispose()



def _act(page: Any, action: str) -> None:
    page.locator(f"form[data-action={action}] button").click()
    page.wait_for_load_state()


def test_whole_life_in_the_browser(live_server, browser, gateway, screenshot_dir,  # type: ignore[no-untyped-def]
                                   tmp_path) -> None:
    base = live_server.url
    org: Org = live_server.app.config["TEST_ORG"]

    # The inspector writes the item, attaches a photo and sends it to the customer's
    # account manager.
    zg = signed_in_page(browser, base, "zg")
    zg.goto(base + "/collab/new")
    zg.select_option("#type_code", "violation_lead")
    zg.fill("#subject", SUBJECT)
    # Formatted text through the editor's toolbar (the textarea behind it is what posts).
    editor = zg.locator("#content-editor")
    editor.click()
    editor.type("柜台发现")
    zg.get_by_role("button", name="加粗").click()
    editor.type("外省")
    zg.get_by_role("button", name="加粗").click()
    editor.type("卷烟两条")
    assert zg.locator("#content").is_hidden()
    zg.fill("#customer", "330401000000")
    zg.select_option("#target", "staff:account_manager")
    photo = tmp_path / "现场照片.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    zg.set_input_files("#attachments", str(photo))
    full_screenshot(zg, str(screenshot_dir / "collab-compose.png"))
    zg.click("button[value=submit]")
    zg.wait_for_url(f"{base}/collab/items/*")
    item_url = zg.url
    assert "现场照片.png" in zg.content()
    assert zg.locator(".notice-content b, .notice-content strong").inner_text() == "外省"
    assert "柜台发现" in zg.locator(".notice-content").inner_text()

    # The simulated gateway received the SMS for the account manager.
    [sms] = gateway.state.messages
    assert sms["PhoneNumbers"] == ["13800000000"]
    assert sms["TemplateParam"]["subject"] == SUBJECT[:30]

    # The account manager finds it on the homepage and forwards it to the deliveryman.
    km = signed_in_page(browser, base, "km")
    full_screenshot(km, str(screenshot_dir / "collab-homepage.png"))
    km.get_by_role("link", name=f"【违规线索】{SUBJECT}").first.click()
    km.wait_for_url(item_url)
    _act(km, "accept")
    km.select_option("form[data-action=forward] select[name=target]",
                     f"person:{org.people['sh']}")
    km.fill("#fwd-comment", "请送货时核实")
    _act(km, "forward")
    assert "请送货时核实" in km.content()

    # The deliveryman finishes it.
    sh = signed_in_page(browser, base, "sh")
    sh.goto(item_url)
    sh.fill("#result", "已核实，外省烟已下架")
    _act(sh, "finish")
    assert "已核实，外省烟已下架" in sh.content()

    # The originator rates it, then archives it.
    zg.goto(item_url)
    zg.fill("#score", "90")
    zg.fill("#rate-comment", "处理及时")
    _act(zg, "rate")
    _act(zg, "archive")
    assert zg.locator(".collab-trace li").count() == 6
    full_screenshot(zg, str(screenshot_dir / "collab-item.png"))

    # A leader finds it in the query and in the chart.
    ld = signed_in_page(browser, base, "ld")
    ld.goto(base + "/collab/query?state=archived")
    assert ld.get_by_role("link", name=SUBJECT).count() == 1
    ld.wait_for_selector("[data-chart=volume][data-ready='1']")
    assert ld.locator("[data-chart=volume] canvas").count() >= 1
    full_screenshot(ld, str(screenshot_dir / "collab-query.png"))
    for p in (zg, km, sh, ld):
        p.context.close()
