"""Leaders' query (filters, Excel and CSV exports, figures) and the homepage windows."""

from __future__ import annotations

import io

from flask import Flask
from openpyxl import load_workbook

from portal.toolkit import Principal, RenderContext, TodoItem
from portlets.collab import query
from portlets.collab.plugin import PORTLETS, portal_todo_items
from tests.collab.conftest import Actor, item_id_of
from tests.conftest import Org

PORTLETS_BY_ID = {p.id: p for p in PORTLETS}


def _items(app: Flask, org: Org) -> tuple[int, int, int]:
    zg, km = Actor(app, "zg"), Actor(app, "km")
    a = item_id_of(zg.create(type_code="violation_lead", subject="=HYPERLINK(\"x\")线索",
                             target=f"person:{org.people['km']}"))
    b = item_id_of(zg.create(type_code="customer_service", subject="服务事项",
                             target=f"person:{org.people['km']}"))
    c = item_id_of(zg.create(type_code="customer_service", subject="已评事项",
                             target=f"person:{org.people['km']}"))
    assert km.act(c, "finish", result="ok").status_code == 302
    assert zg.act(c, "rate", grade="优秀").status_code == 302
    return a, b, c


def test_filters(capp: Flask, corg: Org) -> None:
    _items(capp, corg)
    ld = Actor(capp, "ld").client

    def found(query: str) -> set[str]:
        page = ld.get(f"/collab/query?{query}").get_data(as_text=True)
        return {s for s in ("HYPERLINK", "服务事项", "已评事项") if s in page.split("<h2")[0]}

    assert found("") == {"HYPERLINK", "服务事项", "已评事项"}
    assert found("type=customer_service") == {"服务事项", "已评事项"}
    assert found("state=rated") == {"已评事项"}
    assert found("rating=优秀") == {"已评事项"}
    assert found("rating=fail") == set()
    assert found("handler=km") == {"HYPERLINK", "服务事项", "已评事项"}  # last handler
    assert found("handler=赵送货") == set()
    assert found(f"unit={corg.unit_b}") == set()
    assert found("from=2000-01-01&to=2000-01-31") == set()
    assert found("overdue=1") == set()
    assert found("q=服务") == {"服务事项"}
    assert ld.get("/collab/query?state=flying").status_code == 400


def test_exports(capp: Flask, corg: Org) -> None:
    _items(capp, corg)
    ld = Actor(capp, "ld").client
    csv_response = ld.get("/collab/query.csv?type=violation_lead")
    assert csv_response.status_code == 200
    text = csv_response.data.decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert len(lines) == 2
    assert "'=HYPERLINK" in lines[1]  # a formula is neutralised, not executed by Excel
    xlsx = ld.get("/collab/query.xlsx")
    assert xlsx.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 4
    assert {r[2] for r in rows[1:]} == {"'=HYPERLINK(\"x\")线索", "服务事项", "已评事项"}
    # Nobody's export goes past their scope.
    assert len(Actor(capp, "bg").client.get("/collab/query.csv").data.decode(
        "utf-8-sig").strip().splitlines()) == 1


def test_figures_and_stats_window(capp: Flask, corg: Org) -> None:
    _items(capp, corg)
    page = Actor(capp, "ld").client.get("/collab/query").get_data(as_text=True)
    assert "Volume by type and month" in page or "按类型和月份" in page
    assert "collab-chart-data" in page

    with capp.test_request_context():
        s = capp.extensions["portal"].db.session()
        leader = Principal(corg.people["ld"], "ld", "钱领导", corg.city,
                           managed_units=(corg.city,))
        figures = query.analytics(s, leader, query.Filters())
        assert figures["total"] == 3
        assert sum(sum(v["data"]) for v in figures["volume"]) == 3
        assert [name for name, _h in figures["handling_hours"]] == ["客户服务"]
        assert figures["ratings"] == [("海宁市局", 95.0)]
        assert figures["overdue_rate"] == 0.0


def test_todo_items_and_windows(capp: Flask, corg: Org) -> None:
    a, _b, _c = _items(capp, corg)

    with capp.test_request_context():
        km = Principal(corg.people["km"], "km", "王经理", corg.unit_a)
        items = list(portal_todo_items(principal=km))
        assert all(isinstance(i, TodoItem) for i in items)
        assert {i.url for i in items} == {f"/collab/items/{a}", f"/collab/items/{_b}"}
        zg = Principal(corg.people["zg"], "zg", "张专管", corg.unit_a)
        assert list(portal_todo_items(principal=zg)) == []
        ctx = RenderContext(principal=km, window_id="w1", preferences={})
        assert "HYPERLINK" in PORTLETS_BY_ID["collab_todo"].render(ctx)
        assert "HYPERLINK" in PORTLETS_BY_ID["collab_dept"].render(ctx)
        assert "HYPERLINK" not in PORTLETS_BY_ID["collab_sent"].render(ctx)
        zg_ctx = RenderContext(principal=zg, window_id="w1", preferences={})
        assert "已评事项" in PORTLETS_BY_ID["collab_sent"].render(zg_ctx)
        leader = Principal(corg.people["ld"], "ld", "钱领导", corg.city,
                           managed_units=(corg.city,))
        stats = PORTLETS_BY_ID["collab_stats"].render(
            RenderContext(principal=leader, window_id="w2", preferences={}))
        assert "collab-chart-data" in stats and "<b>3</b>" in stats
