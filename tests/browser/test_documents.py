"""One outgoing document through every step in Chromium, each step by the right person
signed in on their own: 拟稿 (km) → 部门审核 (bm) → 办公室核稿 (bg) → 会签 (bm2) → 签发 (ld)
→ 复核 → 编号 → 印制用印 → 核发 (bg). It arrives in both recipient units' 收文 lists, its
signature verifies, and a copy with one changed byte is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from portlets.documents.models import Document
from tests.browser.conftest import full_screenshot, signed_in_page
from tests.conftest import Org, make_app
from tests.documents.conftest import setup_org

LAYOUT = """
post: {post}
pages:
  - id: home
    title: 工作台
    title_en: Workbench
    windows:
      - {{id: documents_todo, portlet: documents_todo, x: 0, y: 0, w: 6, h: 4}}
      - {{id: documents_incoming, portlet: documents_incoming, x: 6, y: 0, w: 6, h: 4}}
"""
TITLE = "关于开展卷烟市场专项检查的通知（浏览器测试）"
BODY = "各县（市、区）局（营销部）：\n为规范卷烟市场经营秩序，决定开展专项检查。\n特此通知。"
STEPS = [("km", "部门审核"), ("bm", "办公室核稿"), ("bg", "会签"), ("bm2", "签发"),
         ("ld", "复核"), ("bg", "编号"), ("bg", "印制用印"), ("bg", "核发"), ("bg", "归档")]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    for post in ("account_manager", "dept_head", "inspector"):
        (layouts / f"{post}.yaml").write_text(LAYOUT.format(post=post), encoding="utf-8")
    app = make_app(f"sqlite:///{tmp_path}/p.db", LAYOUTS_DIR=str(layouts),
                   WTF_CSRF_ENABLED=True)
    app.config["TEST_ORG"] = setup_org(app)
    yield app
    app.extensions["portal"].db.engine.dispose()



def _stage(app: Flask, doc_id: int) -> str:
    with app.app_context():
        doc = app.extensions["portal"].db.session().get(Document, doc_id)
        assert doc is not None
        return doc.stage


def test_outgoing_document_in_the_browser(live_server, browser, screenshot_dir) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    app: Flask = live_server.app
    org: Org = app.config["TEST_ORG"]
    pages: dict[str, Any] = {}

    km = pages["km"] = signed_in_page(browser, base, "km")
    km.goto(base + "/documents/new")
    km.fill("#title", TITLE)
    km.fill("#body", BODY)
    km.select_option("#countersign_units", [str(org.unit_b)])
    km.select_option("#recipient_units", [str(org.unit_a), str(org.unit_b)])
    full_screenshot(km, screenshot_dir / "documents-draft.png")
    km.click("form button.primary")
    km.wait_for_url(f"{base}/documents/*")
    doc_id = int(km.url.rstrip("/").rsplit("/", 1)[1])
    assert km.locator("h1").first.inner_text() == TITLE

    for username, next_step in STEPS:
        page = pages.get(username) or signed_in_page(browser, base, username)
        pages[username] = page
        page.goto(f"{base}/documents/{doc_id}")
        form = page.locator("section.doc-actions form")
        assert form.count() == 1, f"{username} sees no action on {doc_id}"
        if next_step == "签发":  # the countersigning head, before acting
            full_screenshot(page, screenshot_dir / "documents-countersign.png")
        form.locator("#comment").fill(f"{username} 同意")
        form.locator("button[value=approve]").click()
        page.wait_for_load_state()
        waiting = page.locator(".doc-waiting").inner_text()
        assert next_step in waiting, (username, waiting)
        # nobody else holds the document meanwhile: the person just done has no button now
        if username != "bg":
            assert page.locator("section.doc-actions").count() == 0

    assert _stage(app, doc_id) == "archive"  # 核发 done; waiting to be filed
    bg = pages["bg"]
    bg.goto(f"{base}/documents/{doc_id}")
    number = bg.locator(".doc-number").inner_text()
    assert number.startswith("嘉烟〔") and number.endswith("〕1号")
    assert "签章" in bg.locator(".doc-signed").inner_text()
    full_screenshot(bg, screenshot_dir / "documents-sealed.png")

    # It arrived in both recipient units' incoming lists (and their portlets), unread: bold.
    for username in ("bm", "bm2"):
        page = pages[username]
        page.goto(base + "/")
        window = page.locator(".doc-window li.unread", has_text=TITLE)
        window.first.wait_for()
        if username == "bm2":
            full_screenshot(page, screenshot_dir / "documents-homepage.png")
        page.goto(base + "/documents/?tab=incoming")
        row = page.locator("tr.unread", has_text=TITLE)
        assert row.count() == 1 and row.locator("b").count() == 1
        full_screenshot(page, screenshot_dir / f"documents-incoming-{username}.png")
    zg2 = signed_in_page(browser, base, "zg2")  # a member of the second county sees it too
    zg2.goto(base + "/documents/?tab=incoming")
    assert zg2.locator("tr", has_text=TITLE).count() == 1

    # The signature verifies; a copy with one changed byte does not.
    reader = pages["bm2"]
    data = reader.context.request.get(f"{base}/documents/{doc_id}/file").body()
    assert TITLE.encode() in data
    reader.goto(f"{base}/documents/{doc_id}/verify")
    assert "未被改动" in reader.locator("#stored-result").inner_text()
    reader.set_input_files("#file", files=[{"name": "copy.txt", "mimeType": "text/plain",
                                            "buffer": data}])
    reader.click("form button.primary")
    reader.wait_for_load_state()
    assert "签名有效" in reader.locator("#upload-result").inner_text()
    changed = bytearray(data)
    changed[len(changed) // 2] ^= 0x01
    reader.set_input_files("#file", files=[{"name": "copy.txt", "mimeType": "text/plain",
                                            "buffer": bytes(changed)}])
    reader.click("form button.primary")
    reader.wait_for_load_state()
    result = reader.locator("#upload-result").inner_text()
    assert "签名无效/文件已被改动" in result
    full_screenshot(reader, screenshot_dir / "documents-verify-tampered.png")

    # 收文 in the first unit: the head signs for it, the history shows it.
    bm = pages["bm"]
    bm.goto(base + "/documents/?tab=incoming")
    bm.locator("tr", has_text=TITLE).locator("a").click()
    bm.wait_for_load_state()
    bm.locator("section.doc-actions button[value=approve]").click()
    bm.wait_for_load_state()
    assert "登记" in bm.locator(".doc-waiting").inner_text()
    full_screenshot(bm, screenshot_dir / "documents-incoming-page.png")
    for page in pages.values():
        page.context.close()
    zg2.context.close()
