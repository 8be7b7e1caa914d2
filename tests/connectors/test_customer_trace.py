"""The customer trace area (客户痕迹区): scoped search, and a customer's page with everything
the sources said."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.conftest import Auth
from tests.connectors.conftest import World
from tests.connectors.helpers import delivery, file_case, licence_txn, marketing_update


@pytest.fixture
def traced(sqlite_world: World) -> World:
    w = sqlite_world
    licence_txn(w.systems, "330481100001", "TY", ZT="02")
    marketing_update(w.systems, "330401000001", grade_code="D22", cust_name="别名便利店")
    today = date.today()
    delivery(w.systems, "330401000001", "PS-9", status="CLOSED_SHOP", note="到店关门",
             planned=today.isoformat())
    file_case(w.systems, "330481100002", "嘉烟立〔2026〕第0007号",
              filed=(today - timedelta(days=3)).strftime("%Y%m%d"))
    w.sync()
    return w


def _login(w: World, username: str):
    client = w.app.test_client()
    assert Auth(client).login(username).status_code == 302
    return client


def test_search_by_prefix_and_part_of_the_name_within_scope(traced):
    w = traced
    client = _login(w, "zg")
    page = client.get("/p/customer_trace/?q=3304811000").get_data(as_text=True)
    assert page.count("海宁测试便利店") == 6
    page = client.get("/p/customer_trace/?q=330401000003").get_data(as_text=True)
    assert "海宁测试便利店3" in page and "海宁测试便利店4" not in page
    page = client.get("/p/customer_trace/?q=便利店5").get_data(as_text=True)
    assert "海宁测试便利店5" in page and "海宁测试便利店4" not in page
    unit = w.org.unit_b  # 桐乡: no customers there
    page = client.get(f"/p/customer_trace/?q=海宁&unit={unit}").get_data(as_text=True)
    assert "海宁测试便利店" not in page
    # 李专管 works in 桐乡: 海宁's customers are out of scope.
    page = _login(w, "zg2").get("/p/customer_trace/?q=海宁").get_data(as_text=True)
    assert "海宁测试便利店" not in page


def test_bad_search_input_is_a_400(traced):
    client = _login(traced, "zg")
    assert client.get("/p/customer_trace/?q=" + "x" * 41).status_code == 400
    assert client.get("/p/customer_trace/?unit=abc").status_code == 400


def test_customer_page_shows_the_whole_trace(traced):
    w = traced
    cid = w.org.customers[1]
    page = _login(w, "km").get(f"/p/customer_trace/c/{cid}").get_data(as_text=True)
    for expected in ("海宁测试便利店1", "张专管", "王经理", "赵送货", "13800000000",
                     "停业", "店铺关门", "到店关门", "D22", "trace-chart",
                     "别名便利店"):
        assert expected in page, expected
    assert _login(w, "zg2").get(f"/p/customer_trace/c/{cid}").status_code == 403
    assert _login(w, "zg").get("/p/customer_trace/c/999999").status_code == 404
    assert w.app.test_client().get(f"/p/customer_trace/c/{cid}").status_code in (302, 401)


def test_my_customers_flags_recent_case_grade_change_and_delivery_exception(traced):
    w = traced
    page = _login(w, "zg").get("/p/my_customers/").get_data(as_text=True)
    rows = {line.split("海宁测试便利店")[1][:1]: line for line in page.split("<tr>")
            if "海宁测试便利店" in line}
    assert "Delivery exception" in rows["1"] or "送货异常" in rows["1"]
    assert "Grade changed" in rows["1"] or "档位变化" in rows["1"]
    assert "Recent case" in rows["2"] or "近期案件" in rows["2"]
    for k in ("0", "3", "4", "5"):
        assert "badge" not in rows[k], rows[k]


def test_partial_name_search_on_both_databases(world):
    """PostgreSQL answers "%part%" through the trigram index, SQLite by scanning."""
    client = _login(world, "zg")
    page = client.get("/p/customer_trace/?q=试便利店3").get_data(as_text=True)
    assert "海宁测试便利店3" in page and "海宁测试便利店4" not in page
    page = client.get("/p/customer_trace/?q=100_").get_data(as_text=True)  # no wildcard
    assert "海宁测试便利店" not in page


def test_each_kind_of_search_keeps_to_the_scope_on_both_databases(world):
    """Licence prefix, code prefix, name prefix and an inner part of the name are separate
    statements (the last through the trigram index on PostgreSQL): each one stays in scope,
    and an admin, who searches without a unit filter, sees everyone."""
    zg, zg2, admin = (_login(world, u) for u in ("zg", "zg2", "admin"))
    for q in ("3304811000", "330401000003", "海宁测试", "测试便利店"):
        assert "海宁测试便利店" in zg.get(f"/p/customer_trace/?q={q}").get_data(as_text=True), q
        assert "海宁测试便利店" in admin.get(f"/p/customer_trace/?q={q}").get_data(as_text=True)
        page = zg2.get(f"/p/customer_trace/?q={q}").get_data(as_text=True)
        assert "海宁测试便利店" not in page, q
    # Licence-number hits come first, in licence order; a short part has no trigram.
    page = admin.get("/p/customer_trace/?q=33048110000").get_data(as_text=True)
    assert page.index("海宁测试便利店0") < page.index("海宁测试便利店1")
    assert "海宁测试便利店" in admin.get("/p/customer_trace/?q=便利").get_data(as_text=True)
    # An admin narrowed to a unit without customers finds none.
    page = admin.get(f"/p/customer_trace/?q=海宁&unit={world.org.unit_b}").get_data(as_text=True)
    assert "海宁测试便利店" not in page
