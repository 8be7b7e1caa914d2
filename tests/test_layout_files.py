"""Post layout files: checked with file and line; a bad file never replaces a good one."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from portal.layout import load_layouts
from portal.layout_check import check_text
from tests.conftest import ROOT, Runner

GOOD = """\
post: inspector
title: 专管员
pages:
  - id: home
    title: 工作台
    windows:
      - {id: a, portlet: notices, x: 0, y: 0, w: 6, h: 4}
      - {id: b, portlet: todo, x: 6, y: 0, w: 6, h: 4, lock: {move: true}}
"""


def problems(app: Flask, text: str) -> list[str]:
    portlets = app.extensions["portal"].portlets
    with app.app_context():
        return [f"{p.line}: {p.message}" for p in check_text(text, "x.yaml", portlets)]


def test_the_shipped_layouts_are_valid(app: Flask) -> None:
    with app.app_context():
        layouts, found = load_layouts(ROOT / "layouts", app.extensions["portal"].portlets)
    assert [str(p) for p in found] == []
    assert set(layouts) == {"inspector", "account_manager", "deliveryman", "dept_head",
                            "leader", "office", "admin"}
    assert len(layouts["account_manager"].pages[0].windows) == 9


@pytest.mark.parametrize("change, expected", [
    (("portlet: todo", "portlet: nosuch"), "8: unknown portlet 'nosuch'"),
    (("x: 6, y: 0, w: 6", "x: 4, y: 0, w: 6"), "8: window 'b' overlaps window 'a'"),
    (("x: 6, y: 0, w: 6", "x: 8, y: 0, w: 6"), "8: window 'b' is off the grid"),
    (("w: 6, h: 4}\n      - {id: b", "w: 1, h: 4}\n      - {id: b"),
     "7: window 'a': size 1×4 is outside what portlet 'notices' allows"),
    (("{id: b,", "{id: a,"), "8: window id 'a' is used twice on this page"),
    (("x: 0, y: 0", "x: zero, y: 0"), "7: x must be a whole number"),
    (("lock: {move: true}", "lock: {fly: true}"), "8: unknown key 'fly' in lock"),
    (("post: inspector", "post: Inspector!"), "1: post 'Inspector!' must be a post code"),
    (("title: 工作台", "titel: 工作台"), "5: unknown key 'titel' in a page"),
    (("w: 6, h: 4}\n      - {id: b", "w: 6, h: 4, preferences: {limit: 99}}\n      - {id: b"),
     "7: preference 'limit'"),
    (("pages:", "pages: [\n"), "not valid YAML"),
])
def test_problems_name_the_line(app: Flask, change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in GOOD
    found = problems(app, GOOD.replace(old, new, 1))
    assert any(expected in p for p in found), found


def test_good_file_has_no_problems(app: Flask) -> None:
    assert problems(app, GOOD) == []


def test_a_bad_file_keeps_the_last_good_version(app: Flask, tmp_path: Path) -> None:
    file = tmp_path / "inspector.yaml"
    file.write_text(GOOD, encoding="utf-8")
    portlets = app.extensions["portal"].portlets
    with app.app_context():
        good, found = load_layouts(tmp_path, portlets)
        assert found == [] and len(good["inspector"].pages[0].windows) == 2
        file.write_text(GOOD.replace("portlet: todo", "portlet: nosuch"), encoding="utf-8")
        again, found = load_layouts(tmp_path, portlets, previous=good)
    assert [p.line for p in found] == [8]
    assert again["inspector"] is good["inspector"]  # still served


def test_validate_command(app: Flask, runner: Runner, tmp_path: Path) -> None:
    ok = runner.invoke(["layouts", "validate", str(ROOT / "layouts")])
    assert ok.exit_code == 0 and "7 layout(s) valid, 0 problem(s)" in ok.output
    (tmp_path / "bad.yaml").write_text(GOOD.replace("x: 6, y: 0, w: 6", "x: 4, y: 0, w: 6"),
                                       encoding="utf-8")
    bad = runner.invoke(["layouts", "validate", str(tmp_path)])
    assert bad.exit_code == 1
    assert f"{tmp_path / 'bad.yaml'}:8: window 'b' overlaps window 'a'" in bad.output
    missing = runner.invoke(["layouts", "validate", str(tmp_path / "nope")])
    assert missing.exit_code != 0 and "no such folder" in missing.output


def test_the_portal_starts_with_a_bad_layout_and_says_so(tmp_path: Path) -> None:
    from tests.conftest import Auth, make_app, seed_org

    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "inspector.yaml").write_text(
        GOOD.replace("h: 4}\n      - {id: b", "h: 4, preferences: {limit: 99}}\n      - {id: b"),
        encoding="utf-8")
    app = make_app(f"sqlite:///{tmp_path}/p.db", LAYOUTS_DIR=str(layouts))
    state = app.extensions["portal"]
    assert "inspector" not in state.layouts and len(state.layout_problems) == 1
    seed_org(app)
    admin = Auth(app.test_client())
    admin.login("admin")
    page = admin.client.get("/admin/").get_data(as_text=True)
    assert "有问题的布局文件" in page and "inspector.yaml:7" in page
    inspector = Auth(app.test_client())
    inspector.login("zg")
    assert inspector.client.get("/").status_code == 200  # the post's default page instead
