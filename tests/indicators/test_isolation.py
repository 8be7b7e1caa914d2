"""A plugin's indicator that raises or returns nonsense is unavailable, logged, and the
homepage and the cockpit still render; the good indicators are computed as usual."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from portal.indicators import Indicator, NonsenseValue, Value, check_value, collect
from portlets.indicators.models import RunState, Snapshot
from portlets.indicators.recompute import recompute
from tests.conftest import Auth, make_app
from tests.indicators import bad_indicators
from tests.indicators.conftest import DAY, seed_data


@pytest.fixture
def bapp(tmp_path: Any) -> Iterator[Flask]:
    app = make_app(f"sqlite:///{tmp_path}/portal.db", DEFAULT_LOCALE="en",
                   PLUGINS=[("bad_indicators", bad_indicators)])
    yield app
    app.extensions["portal"].db.engine.dispose()


def test_bad_indicators_are_unavailable_and_pages_render(bapp: Flask,
                                                         caplog: pytest.LogCaptureFixture
                                                         ) -> None:
    d = seed_data(bapp)
    with bapp.app_context():
        s = bapp.extensions["portal"].db.session()
        reg = collect(bapp)
        assert "bad_indicators:?" in reg.unavailable  # the string item was refused
        result = recompute(bapp, s, DAY, ("month",))
        assert set(result.failed) == {"bad_raises", "bad_nan", "bad_share", "bad_junk"}
        errors = dict(s.execute(select(RunState.indicator, RunState.error)).all())
        assert "source database is gone" in errors["bad_raises"]
        assert "not finite" in errors["bad_nan"]
        assert "above 1" in errors["bad_share"]
        assert "expected Value" in errors["bad_junk"]
        assert errors["market_share"] == ""
        # nothing of a half-nonsense result was kept
        assert s.scalar(select(Snapshot.id).where(Snapshot.indicator == "bad_share")) is None
        assert s.scalar(select(Snapshot.id).where(Snapshot.indicator == "market_share"))
    assert "indicator bad_raises failed" in caplog.text
    auth = Auth(bapp.test_client())
    auth.login("ld")
    page = auth.client.get("/cockpit/?ind=market_share&date=2026-11-15")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count("Unavailable") == 4
    assert "Market share" in html
    page = auth.client.get("/cockpit/?ind=bad_raises&date=2026-11-15")
    assert page.status_code == 200
    assert d.org.city


def test_check_value_refuses_nonsense() -> None:
    ind = Indicator("x", "X", "%", "-", "-", lambda s, p: [], bounded=True,
                    levels=("unit", "city"))
    assert check_value(ind, Value("unit", 1, 0.3)).value == 0.3
    for bad in (Value("unit", 1, -0.1), Value("unit", 1, 1.2), Value("person", 1, 0.5),
                Value("unit", 1, float("inf")), Value("unit", 1, True), 0.5):
        with pytest.raises(NonsenseValue):
            check_value(ind, bad)


def test_missing_target_says_so(kapp: Flask) -> None:
    seed_data(kapp)
    with kapp.app_context():
        recompute(kapp, kapp.extensions["portal"].db.session(), DAY, ("month",))
    auth = Auth(kapp.test_client())
    auth.login("ld")
    html = auth.client.get("/cockpit/?ind=cases&date=2026-11-15").get_data(as_text=True)
    # cases have no target: "No target set", not a target of zero
    card = html.split('data-indicator="cases"')[1].split('data-indicator=')[0]
    assert "No target set" in card and "Target 0" not in card
