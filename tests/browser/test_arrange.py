"""Arranging the homepage in Chromium: drag and drop that stays, locks the browser and the API
both respect, keyboard moves, a new post layout merged with the user's changes, reset and undo,
one column on a phone, and a screenshot of every post's default homepage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from portal.layout_versions import announce, publish
from tests.browser.conftest import full_screenshot
from tests.browser.test_homepage import sign_in
from tests.conftest import ROOT, make_app, seed_org

PAGE = "account_manager.home"
POST_USERS = {"inspector": "zg", "account_manager": "km", "deliveryman": "sh",
              "dept_head": "bm", "leader": "ld", "office": "bg", "admin": "admin"}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = make_app(f"sqlite:///{tmp_path}/p.db", LAYOUTS_DIR=str(ROOT / "layouts"),
                   WTF_CSRF_ENABLED=True)
    seed_org(app)
    yield app
    app.extensions["portal"].db.engine.dispose()


@pytest.fixture
def tall(browser: Any) -> Iterator[Any]:
    """A page tall enough to hold the whole grid, so a drag never needs to scroll."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 1900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def _box(page: Any, window_id: str) -> tuple[int, int, int, int]:
    item = page.locator(f'.grid-stack-item[gs-id="{window_id}"]')
    return tuple(int(item.get_attribute(a) or 0) for a in ("gs-x", "gs-y", "gs-w", "gs-h"))


def _grid_ready(page: Any) -> None:
    page.wait_for_selector(".grid-stack .grid-stack-item")


def _drag(page: Any, window_id: str, dx: float, dy: float) -> None:
    head = page.locator(f"#w-{window_id} .window-head h2").bounding_box()
    x, y = head["x"] + 20, head["y"] + head["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(x + dx * step / 10, y + dy * step / 10)
    page.mouse.up()


def test_drag_keyboard_locks_and_a_new_post_version(live_server, tall, app, screenshot_dir) -> None:  # type: ignore[no-untyped-def]
    page = tall
    base = live_server.url
    sign_in(page, base, "km")
    _grid_ready(page)
    assert _box(page, "today") == (0, 0, 4, 2)

    # Drag "today" below everything: saved at once, and still there after a reload.
    row = page.locator("#w-today").bounding_box()["height"] / 2 + 14  # one grid row, px
    with page.expect_response(lambda r: r.url.endswith(f"/layout/{PAGE}/move")) as saved:
        _drag(page, "today", 0, row * 14)
    assert saved.value.status == 200
    dropped = _box(page, "today")
    assert dropped[1] >= 10 and dropped[2:] == (4, 2)  # others may have made room
    page.reload()
    _grid_ready(page)
    assert _box(page, "today") == dropped

    # The locked window does not move in the browser, has no remove button, and the API
    # refuses the move (403) even when asked directly.
    before = _box(page, "notices")
    _drag(page, "notices", -300, 200)
    page.wait_for_timeout(500)
    assert _box(page, "notices") == before
    assert page.locator("#w-notices form[action$='/remove']").count() == 0
    status = page.evaluate("""async (url) => {
        const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
        const r = await fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json',
            'X-CSRFToken': token}, body: JSON.stringify({version: Number(
            document.querySelector('.grid-stack').dataset.version),
            windows: [{id: 'notices', x: 0, y: 20, w: 6, h: 4}]})});
        return r.status; }""", f"{base}/layout/{PAGE}/move")
    assert status == 403

    # Keyboard: focus a window, arrows move it, Shift+arrows resize it.
    profile = _box(page, "profile")
    page.focus("#w-profile")
    with page.expect_response(lambda r: r.url.endswith("/move")) as saved:
        page.keyboard.press("ArrowDown")
    assert saved.value.status == 200
    with page.expect_response(lambda r: r.url.endswith("/move")) as saved:
        page.keyboard.press("Shift+ArrowLeft")
    assert saved.value.status == 200
    page.reload()
    _grid_ready(page)
    assert _box(page, "profile") == (profile[0], profile[1] + 1, profile[2] - 1, profile[3])

    # The administrator publishes a new version: "stats" and "directory" go, a locked window
    # comes in over the place where the user had put "today". The user keeps their own moves,
    # gets the locked window, and "today" makes room for it instead of vanishing.
    with app.app_context():
        s = app.extensions["portal"].db.session()
        doc = _document(app)
        home = doc["pages"][0]
        home["windows"] = [w for w in home["windows"] if w["id"] not in ("stats", "directory")]
        home["windows"].append({"id": "hot", "portlet": "today", "x": 0, "y": 10, "w": 4,
                                "h": 3, "lock": True})
        publish(s, doc, source="editor", author="admin", portlets=app.extensions["portal"].portlets)
        s.commit()
        announce()
    page.reload()
    _grid_ready(page)
    assert page.locator(".banner", has_text="您的首页已由管理员更新").is_visible()
    assert page.locator('.grid-stack-item[gs-id="stats"]').count() == 0
    assert page.locator('.grid-stack-item[gs-id="directory"]').count() == 0
    assert _box(page, "hot") == (0, 10, 4, 3)
    assert page.locator('.grid-stack-item[gs-id="hot"]').get_attribute("gs-no-move") == "true"
    kept = _box(page, "today")
    assert kept != dropped and not _overlap(kept, (0, 10, 4, 3))  # moved aside, not lost
    assert _box(page, "profile") == (profile[0], profile[1] + 1, profile[2] - 1, profile[3])
    full_screenshot(page, screenshot_dir / "arrange-after-new-version.png")
    page.click(".banner button")
    page.wait_for_load_state()
    assert page.locator(".banner").count() == 0

    # Reset (with confirmation) and one undo.
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("details.menu summary:has-text('页面')")
    page.click("button:has-text('恢复岗位默认布局')")
    page.wait_for_load_state()
    _grid_ready(page)
    assert _box(page, "today") == (0, 0, 4, 2)
    page.click("details.menu summary:has-text('页面')")
    page.click("button:has-text('撤销恢复')")
    page.wait_for_load_state()
    _grid_ready(page)
    assert _box(page, "today") == kept


def _overlap(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _document(app: Flask) -> dict[str, Any]:
    from portal.layout import to_document
    from portal.layout_versions import effective_layouts

    return to_document(effective_layouts(app.extensions["portal"].db.session())["account_manager"])


def test_narrow_screen_is_one_column(live_server, browser, screenshot_dir) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 800})
    page = context.new_page()
    try:
        sign_in(page, live_server.url, "km")
        boxes = [b for b in (page.locator(".grid > .grid-stack-item").nth(i).bounding_box()
                             for i in range(page.locator(".grid > .grid-stack-item").count()))]
        assert len(boxes) == 9  # the account manager's homepage: layouts/account_manager.yaml
        assert len({round(b["x"]) for b in boxes}) == 1  # one column
        assert all(b["width"] <= 375 for b in boxes)
        tops = [b["y"] for b in boxes]
        assert tops == sorted(tops)  # in layout order, top to bottom
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        full_screenshot(page, screenshot_dir / "home-account_manager-375px.png")
    finally:
        context.close()


@pytest.mark.parametrize("post", sorted(POST_USERS))
def test_every_posts_default_homepage(live_server, browser, screenshot_dir, post) -> None:  # type: ignore[no-untyped-def]
    # Tall enough for the whole page: a full-page capture would resize the viewport, which
    # makes the grid and the charts lay themselves out again while Chromium waits for calm.
    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 1700})
    page = context.new_page()
    try:
        sign_in(page, live_server.url, POST_USERS[post])
        _grid_ready(page)
        assert page.locator(".window-error").count() == 0
        page.wait_for_timeout(300)  # charts finish drawing
        page.screenshot(path=screenshot_dir / f"home-{post}-zh_CN.png", animations="disabled")
    finally:
        context.close()
