"""The unified to-do list and search in Chromium: the to-do window on an admin's homepage shows
items from three plugins (collaboration, notices, connector alerts) with a tab per source; the
header's search box finds an archived document and a work item; the archive page filters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.browser.conftest import full_screenshot
from tests.conftest import PASSWORD, Org, make_app, seed_org

LAYOUT = """
post: admin
pages:
  - id: home
    title: 工作台
    title_en: Workbench
    windows:
      - {id: todo, portlet: todo, x: 0, y: 0, w: 7, h: 5}
      - {id: archive, portlet: archive, x: 7, y: 0, w: 5, h: 5}
"""


def seed(app: Flask, org: Org) -> None:
    """Open items for the admin in three plugins, and two archived documents."""
    from connectors.models import ConnectorState
    from portlets.archive import service
    from portlets.collab.models import WorkItem
    from portlets.notices.models import Notice, NoticeReceipt

    now = datetime.now()
    admin = org.people["admin"]
    with app.app_context():
        s = app.extensions["portal"].db.session()
        for n, (subject, days) in enumerate([("零售户许可证变更核实", 2),
                                             ("疑似非渠道卷烟线索核查", -1),
                                             ("配送线路调整意见征集", 6)]):
            s.add(WorkItem(type_code="customer_service", subject=subject,
                           content="<p>请核实并反馈处理结果。</p>", originator_id=org.people["zg"],
                           state="handling", version=1, handler_person_id=admin,
                           escalation_level=0, created_at=now - timedelta(days=3),
                           updated_at=now - timedelta(hours=n), submitted_at=now,
                           handed_at=now - timedelta(hours=n), due_at=now + timedelta(days=days),
                           result="", overdue=0))
        for title in ("关于开展第四季度卷烟市场检查的通知", "冬季送货安全提示"):
            notice = Notice(title=title, content="<p>请各单位认真落实。</p>", sender_name="办公室",
                            submitted_at=now - timedelta(days=1))
            s.add(notice)
            s.flush()
            s.add(NoticeReceipt(notice_id=notice.id, person_id=admin))
        s.add(ConnectorState(source="marketing", failures=4, last_run_at=now,
                             last_error="connection refused"))
        for title, number in (("关于开展卷烟市场专项整治工作的通知", "嘉烟〔2026〕12号"),
                              ("物流配送线路调整方案", "嘉烟〔2026〕13号")):
            service.add(s, service.parse(s, {
                "title": title, "number": number, "year": 2026, "category": "文书",
                "retention": "永久", "unit_id": org.city, "unit_ids": [org.city],
                "body": f"{title}。各县（市）局要高度重视，确保各项措施落到实处。"}))
        s.commit()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "admin.yaml").write_text(LAYOUT, encoding="utf-8")
    app = make_app(f"sqlite:///{tmp_path}/p.db", LAYOUTS_DIR=str(layouts),
                   WTF_CSRF_ENABLED=True)
    org = seed_org(app)
    seed(app, org)
    yield app
    app.extensions["portal"].db.engine.dispose()


def test_todo_window_merges_three_plugins(live_server, page: Any,  # type: ignore[no-untyped-def]
                                          screenshot_dir: Path) -> None:
    base = live_server.url
    page.goto(base + "/login")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(base + "/")
    window = page.locator(".todo-window")
    window.wait_for()
    text = window.inner_text()
    for source, count in (("协同工作", 3), ("通知", 2), ("数据交换告警", 1)):
        assert f"{source} {count}" in text, text
    assert "6 项待办" in text or "6" in window.locator(".badge-hot").inner_text()
    titles = window.locator("li a").all_inner_texts()
    # Urgent first (the failing connector, the overdue item), then by deadline.
    assert "营销系统" in titles[0] or "疑似非渠道卷烟线索核查" in titles[0]
    assert titles.index("【客户服务】零售户许可证变更核实") < titles.index(
        "【客户服务】配送线路调整意见征集")
    full_screenshot(page, screenshot_dir / "todo-homepage.png")

    # The source tab on the full page keeps one plugin's items.
    window.locator("a.badge", has_text="通知").click()
    page.wait_for_url("**/todo/**")
    rows = page.locator("table.table tbody tr")
    assert rows.count() == 2
    assert page.locator("nav.subtabs a.active").inner_text().startswith("通知")
    full_screenshot(page, screenshot_dir / "todo-page-notices.png")

    # The header's search box: archive and collaboration results, grouped.
    page.fill("#top-q", "卷烟")
    page.press("#top-q", "Enter")
    page.wait_for_url("**/search?q=*")
    headings = page.locator(".search-group h2").all_inner_texts()
    assert any(h.startswith("档案") for h in headings), headings
    assert any(h.startswith("协同工作") for h in headings), headings
    assert page.locator(".search-results mark").count() >= 1
    full_screenshot(page, screenshot_dir / "search-page.png")

    # An empty search is refused with a message, not an error page.
    page.goto(base + "/search?q=%20")
    assert "请输入要搜索的内容" in page.locator("#search-error").inner_text()

    # The archive page: "专项整治" finds the record inside 卷烟市场专项整治.
    page.goto(base + "/archive/?q=专项整治")
    results = page.locator("ol.search-results > li > a").all_inner_texts()
    assert results == ["关于开展卷烟市场专项整治工作的通知"]
    full_screenshot(page, screenshot_dir / "archive-page.png")


def test_archivist_registers_a_record_in_the_browser(live_server, page: Any,  # type: ignore[no-untyped-def]
                                                     screenshot_dir: Path) -> None:
    base = live_server.url
    page.goto(base + "/login")
    page.fill("#username", "bg")  # the office clerk keeps the archive
    page.fill("#password", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(base + "/")
    page.goto(base + "/archive/new")
    page.fill("#title", "1998年烟草专卖许可证发放登记册")
    page.fill("#year", "98")
    page.fill("#body", "纸质档案，存放于档案室三号柜。")
    page.click("form button.primary")
    assert "年度应为四位年份" in page.locator(".field.invalid .field-error").inner_text()
    full_screenshot(page, screenshot_dir / "archive-register-invalid.png")
    page.fill("#year", "1998")
    page.select_option("#category", "monopoly")
    page.select_option("#retention", "permanent")
    page.click("form button.primary")
    page.wait_for_url("**/archive/*")
    assert page.locator("h1").inner_text() == "1998年烟草专卖许可证发放登记册"
    assert "专卖案卷" in page.locator("table.table").inner_text()
    full_screenshot(page, screenshot_dir / "archive-record.png")
