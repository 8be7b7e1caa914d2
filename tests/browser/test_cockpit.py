"""The city cockpit in Chromium: a leader opens 我的指标 on the homepage, goes to the cockpit,
clicks a unit's bar in the chart (drill-down city → unit), then a person in the table
(unit → person), and exports the view; screenshots in test-output/screenshots."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import delete

from connectors.kpi_demo import generate
from connectors.kpi_models import SalesPlan
from portlets.indicators.recompute import recompute
from tests.browser.conftest import full_screenshot, signed_in_page
from tests.conftest import make_app
from tests.indicators.conftest import seed_data

LAYOUT = """
post: {post}
pages:
  - id: home
    title: 工作台
    title_en: Workbench
    windows:
      - {{id: mine, portlet: indicators_mine, x: 0, y: 0, w: 7, h: 5}}
      - {{id: team, portlet: indicators_team, x: 7, y: 0, w: 5, h: 5}}
"""


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    for post in ("leader", "dept_head"):
        (layouts / f"{post}.yaml").write_text(LAYOUT.format(post=post), encoding="utf-8")
    app = make_app(f"sqlite:///{tmp_path}/p.db", LAYOUTS_DIR=str(layouts))
    data = seed_data(app)
    with app.app_context():
        s = app.extensions["portal"].db.session()
        s.execute(delete(SalesPlan))  # the generator plans from its own orders
        generate(s, 7, today=date.today(), months=13)  # a year of history on the same customers
        s.commit()
        recompute(app, s, date.today(), ("month", "year"), back=12)
    app.config["TEST_DATA"] = data
    yield app
    app.extensions["portal"].db.engine.dispose()


def test_cockpit_drill_down(live_server: Any, browser: Any, screenshot_dir: Path) -> None:
    data = live_server.app.config["TEST_DATA"]
    base = live_server.url
    page = signed_in_page(browser, base, "ld")
    page.goto(base + "/")
    mine = page.locator("[data-portlet=indicators_mine]")
    mine.locator(".kpi").first.wait_for()
    assert "市场占有率" in mine.inner_text()
    full_screenshot(page, screenshot_dir / "indicators-home-leader.png")

    page.goto(base + "/cockpit/?ind=market_share")
    page.wait_for_selector(".cockpit-charts[data-ready='1']")
    page.wait_for_timeout(600)  # the bars' entry animation
    assert page.locator("h1").inner_text().startswith("城市驾驶舱")
    full_screenshot(page, screenshot_dir / "cockpit-city.png")

    # click the bar of 海宁市局 in the chart: drill down to the unit
    point = page.evaluate("""() => {
        const el = document.querySelector("[data-chart=bars]");
        const chart = echarts.getInstanceByDom(el);
        const names = chart.getOption().xAxis[0].data;
        const i = names.indexOf("海宁市局");
        const values = chart.getOption().series[0].data;
        const [x, y] = chart.convertToPixel({seriesIndex: 0}, [i, values[i] / 2]);
        const box = el.getBoundingClientRect();
        return {x: box.left + x, y: box.top + y};
    }""")
    page.mouse.click(point["x"], point["y"])
    page.wait_for_url(f"**/cockpit/unit/{data.org.unit_a}?*")
    page.wait_for_selector(".cockpit-charts[data-ready='1']")
    assert "海宁市局" in page.locator("h1").inner_text()
    assert "王经理" in page.locator(".cockpit-rows").inner_text()
    full_screenshot(page, screenshot_dir / "cockpit-unit.png")

    # unit → person through the ranking table
    page.click(".cockpit-rows a.drill:text('王经理')")
    page.wait_for_url(f"**/cockpit/person/{data.org.people['km']}?*")
    assert "王经理" in page.locator("h1").inner_text()
    crumbs = page.locator(".crumbs").inner_text()
    assert "全市" in crumbs and "海宁市局" in crumbs
    full_screenshot(page, screenshot_dir / "cockpit-person.png")

    with page.expect_download() as info:
        page.click("text=导出 Excel")
    wb = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()))
    names = [row[0] for row in wb.worksheets[0].iter_rows(min_row=2, values_only=True)]
    assert "市场占有率" in names
    page.context.close()


def test_department_head_cannot_reach_the_city(live_server: Any, browser: Any,
                                               screenshot_dir: Path) -> None:
    data = live_server.app.config["TEST_DATA"]
    base = live_server.url
    page = signed_in_page(browser, base, "bm")
    team = page.locator("[data-portlet=indicators_team]")
    team.locator("table").wait_for()
    assert "王经理" in team.inner_text()
    full_screenshot(page, screenshot_dir / "indicators-home-dept-head.png")
    page.goto(base + "/cockpit/")
    assert f"/cockpit/unit/{data.org.unit_a}" in page.url
    response = page.goto(base + f"/cockpit/unit/{data.org.unit_b}")
    assert response.status == 403
    assert "超出您的查看范围" in page.content()
    page.context.close()
