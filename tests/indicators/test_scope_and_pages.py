"""Scoping (a person their own, a department head their unit, a leader the city) in every
view, the portlet windows and the Excel export (read back), and bad input."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from portlets.indicators.recompute import recompute
from tests.conftest import Auth
from tests.indicators.conftest import DAY, Data, seed_data

Q = "ind=plan_completion&date=2026-11-15"


@pytest.fixture
def data(sapp: Flask) -> Data:
    d = seed_data(sapp)
    with sapp.app_context():
        recompute(sapp, sapp.extensions["portal"].db.session(), DAY, back=1)
    return d


@pytest.fixture
def as_user(sapp: Flask) -> Iterator[object]:
    def login(username: str) -> FlaskClient:
        auth = Auth(sapp.test_client())
        assert auth.login(username).status_code == 302
        return auth.client
    yield login


def test_person_sees_only_their_own(data: Data, as_user) -> None:  # type: ignore[no-untyped-def]
    p, o = data.org.people, data.org
    km = as_user("km")
    assert km.get(f"/cockpit/person/{p['km']}?{Q}").status_code == 200
    for url in (f"/cockpit/?{Q}", f"/cockpit/unit/{o.unit_a}?{Q}", f"/cockpit/person/{p['km2']}",
                f"/cockpit/person/{p['zg']}", f"/cockpit/export/city/{o.city}.xlsx",
                f"/cockpit/export/unit/{o.unit_a}.xlsx",
                f"/cockpit/export/person/{p['zg']}.xlsx"):
        r = km.get(url)
        assert r.status_code == 403, url
        assert "outside your scope" in r.get_data(as_text=True)
    assert km.get(f"/cockpit/export/person/{p['km']}.xlsx?{Q}").status_code == 200


def test_department_head_sees_their_unit_and_its_people(data: Data, as_user) -> None:  # type: ignore[no-untyped-def]
    p, o = data.org.people, data.org
    bm = as_user("bm")
    r = bm.get(f"/cockpit/?{Q}")
    assert r.status_code == 302 and r.location.startswith(f"/cockpit/unit/{o.unit_a}")
    html = bm.get(f"/cockpit/unit/{o.unit_a}?{Q}").get_data(as_text=True)
    assert "王经理" in html and "95.0%" in html
    assert bm.get(f"/cockpit/person/{p['km']}?{Q}").status_code == 200
    assert bm.get(f"/cockpit/unit/{o.unit_b}?{Q}").status_code == 403
    assert bm.get(f"/cockpit/person/{p['zg2']}?{Q}").status_code == 403
    assert bm.get(f"/cockpit/export/city/{o.city}.xlsx?{Q}").status_code == 403
    r = bm.get(f"/cockpit/export/unit/{o.unit_a}.xlsx?{Q}")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.data))
    rows = list(wb.worksheets[1].iter_rows(values_only=True))
    assert rows[0][0] == "Name"
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["王经理"][1] == pytest.approx(0.95)
    assert by_name["王经理"][2:4] == (190, 200)
    assert "李专管" not in by_name  # zg2 works in the other unit


def test_leader_sees_the_city_and_drills_down(data: Data, as_user) -> None:  # type: ignore[no-untyped-def]
    p, o = data.org.people, data.org
    ld = as_user("ld")
    html = ld.get("/cockpit/?ind=market_share&date=2026-11-15").get_data(as_text=True)
    assert "海宁市局" in html and "桐乡市局" in html
    assert f'/cockpit/unit/{o.unit_a}?ind=market_share' in html
    assert ld.get(f"/cockpit/unit/{o.unit_b}?{Q}").status_code == 200
    assert ld.get(f"/cockpit/person/{p['zg2']}?{Q}").status_code == 200
    r = ld.get(f"/cockpit/export/city/{o.city}.xlsx?ind=market_share&date=2026-11-15")
    wb = load_workbook(io.BytesIO(r.data))
    figures = {row[0]: row for row in wb.worksheets[0].iter_rows(values_only=True)}
    assert figures["Market share"][2] == pytest.approx(110 / 180)
    assert figures["Cases"][3] is None  # no target: empty, not zero
    units = {row[0]: row[1] for row in wb.worksheets[1].iter_rows(min_row=2, values_only=True)}
    assert units == {"海宁市局": pytest.approx(80 / 150), "桐乡市局": pytest.approx(1.0)}


@pytest.mark.parametrize("query,status,message", [
    ("period=week", 400, "Unknown period"),
    ("date=2026-13-40", 400, "2026-12-04"),
    ("date=1990-01-01", 400, "ten years"),
    ("ind=nope", 404, "Unknown indicator"),
])
def test_bad_input(data: Data, as_user, query: str, status: int, message: str) -> None:  # type: ignore[no-untyped-def]
    r = as_user("ld").get(f"/cockpit/?{query}")
    assert r.status_code == status
    assert message in r.get_data(as_text=True)
    assert "Traceback" not in r.get_data(as_text=True)


def test_unknown_subjects_are_404(data: Data, as_user) -> None:  # type: ignore[no-untyped-def]
    ld = as_user("ld")
    assert ld.get("/cockpit/person/99999").status_code == 404
    assert ld.get("/cockpit/unit/99999").status_code == 404
    assert ld.get(f"/cockpit/export/planet/{data.org.city}.xlsx").status_code == 404


def test_pages_need_sign_in(data: Data, sapp: Flask) -> None:
    r = sapp.test_client().get("/cockpit/")
    assert r.status_code in (302, 401)


def _window(html: str, portlet_id: str) -> str:
    m = re.search(rf'<section class="window[^"]*"[^>]*data-portlet="{portlet_id}".*?</section>',
                  html, re.S)
    assert m, portlet_id
    return m.group(0)


def _add(client: FlaskClient, post: str, portlet: str) -> None:
    r = client.post(f"/layout/{post}.home/add", json={"version": 0, "portlet": portlet})
    assert r.status_code == 200, r.get_data(as_text=True)


def test_my_indicators_for_an_account_manager(data: Data, as_user, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import portlets.indicators.plugin as plugin

    monkeypatch.setattr(plugin, "date", _FixedDate)
    km = as_user("km")
    _add(km, "account_manager", "indicators_mine")
    mine = _window(km.get("/").get_data(as_text=True), "indicators_mine")
    assert "window-error" not in mine
    # the account manager's own figures only: market share and plan completion
    assert "Plan completion" in mine and "95.0%" in mine and "Market share" in mine
    assert "Cases" not in mine and "on-time" not in mine
    assert "kpi-amber" in mine  # plan 95 %: within 10 % of the 100 % target
    assert "<polyline" in mine  # October and November make a trend


def test_team_ranks_the_department_heads_people(data: Data, as_user, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import portlets.indicators.plugin as plugin

    monkeypatch.setattr(plugin, "date", _FixedDate)
    bm = as_user("bm")
    _add(bm, "dept_head", "indicators_team")
    team = _window(bm.get("/").get_data(as_text=True), "indicators_team")
    assert "王经理" in team and "95.0%" in team
    assert "李专管" not in team


class _FixedDate:
    """``date`` as the portlets see it, fixed at the data set's day."""

    @staticmethod
    def today():  # type: ignore[no-untyped-def]
        return DAY

    fromisoformat = staticmethod(DAY.fromisoformat)


def test_the_window_shows_new_figures_after_a_recompute(data: Data, sapp: Flask, as_user,  # type: ignore[no-untyped-def]
                                              monkeypatch) -> None:
    import portlets.indicators.plugin as plugin
    from connectors.models import Purchase

    monkeypatch.setattr(plugin, "date", _FixedDate)
    km = as_user("km")
    _add(km, "account_manager", "indicators_mine")
    assert "95.0%" in _window(km.get("/").get_data(as_text=True), "indicators_mine")
    with sapp.app_context():
        s = sapp.extensions["portal"].db.session()
        s.add(Purchase(customer_id=data.c[2], source="t", source_key="more",
                       ordered_on=DAY, cartons=10, own_cartons=5, amount=1000.0))
        s.commit()
        recompute(sapp, s, DAY, ("month",))
    mine = _window(km.get("/").get_data(as_text=True), "indicators_mine")
    assert "100.0%" in mine and "kpi-green" in mine
