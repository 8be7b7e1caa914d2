"""Known answers for every formula on the hand-made data set of conftest.py (both DBs)."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from sqlalchemy import select

from portlets.indicators.models import Snapshot
from portlets.indicators.recompute import recompute
from tests.indicators.conftest import DAY, Data, seed_data


def snap(app: Flask, ind: str, level: str, subject: int, period: str = "month",
         start: date = date(2026, 11, 1), dim: str = "") -> float | None:
    with app.app_context():
        s = app.extensions["portal"].db.session()
        return s.scalar(select(Snapshot.value).where(
            Snapshot.indicator == ind, Snapshot.level == level, Snapshot.subject_id == subject,
            Snapshot.period == period, Snapshot.period_start == start, Snapshot.dim == dim))


@pytest.fixture
def data(kapp: Flask) -> Data:
    d = seed_data(kapp)
    with kapp.app_context():
        result = recompute(kapp, kapp.extensions["portal"].db.session(), DAY)
    assert result.failed == {}
    return d


def test_market_share(kapp: Flask, data: Data) -> None:
    o = data.org
    # November to the 15th: unit A own 60+20 of 100+50 cartons; unit B 30 of 30; the order
    # of the 20th is after the day, the one of the 15th has no brand split.
    assert snap(kapp, "market_share", "unit", o.unit_a) == pytest.approx(80 / 150)
    assert snap(kapp, "market_share", "unit", o.unit_b) == pytest.approx(1.0)
    assert snap(kapp, "market_share", "city", o.city) == pytest.approx(110 / 180)
    assert snap(kapp, "market_share", "person", o.people["km"]) == pytest.approx(110 / 180)
    # the day itself: only the order without a brand split, so no figure at all (not zero)
    assert snap(kapp, "market_share", "city", o.city, "day", DAY) is None


def test_plan_completion(kapp: Flask, data: Data) -> None:
    o = data.org
    # km: 100 + 50 + 30 + 10 cartons in November to date, plan 200
    assert snap(kapp, "plan_completion", "person", o.people["km"]) == pytest.approx(0.95)
    assert snap(kapp, "plan_completion", "unit", o.unit_a) == pytest.approx(160 / 200)
    assert snap(kapp, "plan_completion", "unit", o.unit_b) is None  # no plan there
    assert snap(kapp, "plan_completion", "city", o.city) == pytest.approx(190 / 200)
    # the day's figure is month-to-date progress; the year adds October (80 of 100)
    assert snap(kapp, "plan_completion", "city", o.city, "day", DAY) == pytest.approx(0.95)
    assert snap(kapp, "plan_completion", "city", o.city, "year",
                date(2026, 1, 1)) == pytest.approx(270 / 300)


def test_cases_by_type_and_unit(kapp: Flask, data: Data) -> None:
    o = data.org
    assert snap(kapp, "cases", "unit", o.unit_a) == 2
    assert snap(kapp, "cases", "unit", o.unit_b) == 1
    assert snap(kapp, "cases", "city", o.city) == 3
    assert snap(kapp, "cases", "city", o.city, dim="FAKE") == 2
    assert snap(kapp, "cases", "city", o.city, dim="SMUGGLED") == 1
    assert snap(kapp, "cases", "person", o.people["zg"]) == 2
    assert snap(kapp, "cases", "person", o.people["zg2"]) == 1
    assert snap(kapp, "cases", "city", o.city, "month", date(2026, 10, 1)) is None  # not run
    assert snap(kapp, "cases", "city", o.city, "year", date(2026, 1, 1)) == 4
    assert snap(kapp, "cases", "city", o.city, "day", DAY) == 0  # none that day: zero, not a gap
    assert snap(kapp, "cases", "unit", o.unit_b, "day", DAY) is None


def test_purification_rate(kapp: Flask, data: Data) -> None:
    o = data.org
    # unit A inspected c0 (case on the 2nd), c1 (its case was in October: clean), c2 (a
    # violation found), c3 (clean, twice): 2 of 4; unit B c6 had a case: 0 of 1.
    assert snap(kapp, "purification", "unit", o.unit_a) == pytest.approx(0.5)
    assert snap(kapp, "purification", "unit", o.unit_b) == 0
    assert snap(kapp, "purification", "city", o.city) == pytest.approx(0.4)
    assert snap(kapp, "purification", "person", o.people["zg"]) == pytest.approx(0.5)


def test_on_time_rate(kapp: Flask, data: Data) -> None:
    o = data.org
    assert snap(kapp, "on_time", "unit", o.unit_a) == pytest.approx(2 / 3)
    assert snap(kapp, "on_time", "unit", o.unit_b) == 0
    assert snap(kapp, "on_time", "city", o.city) == pytest.approx(0.5)
    assert snap(kapp, "on_time", "person", o.people["sh"]) == pytest.approx(0.5)


def test_recompute_replaces_a_period(kapp: Flask, data: Data) -> None:
    """Running again changes nothing (one row per key); new data changes the figure."""
    from connectors.models import Case

    with kapp.app_context():
        s = kapp.extensions["portal"].db.session()
        before = s.scalar(select(Snapshot.id).where(Snapshot.indicator == "cases").limit(1))
        assert before is not None
        count = len(s.scalars(select(Snapshot.id)).all())
        recompute(kapp, s, DAY)
        assert len(s.scalars(select(Snapshot.id)).all()) == count
        s.add(Case(customer_id=data.c[7], source="t", source_key="extra", case_type="FAKE",
                   status="FILED", filed_on=date(2026, 11, 14)))
        s.commit()
        recompute(kapp, s, DAY, ("month",))
    assert snap(kapp, "cases", "unit", data.org.unit_b) == 2
