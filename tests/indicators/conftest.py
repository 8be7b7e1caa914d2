"""A small hand-made data set whose every indicator value is worked out by hand (see the
comments in test_formulas.py), on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from flask import Flask

from connectors.kpi_models import Inspection, SalesPlan
from connectors.models import Case, Delivery, Purchase
from portal.models import Customer, Person, Post, PostAssignment
from tests.conftest import LICENCE_VALID_TO, Org, make_app, seed_org

DAY = date(2026, 11, 15)


@dataclass
class Data:
    org: Org
    c: list[int]  # c[0..5] in unit A (HN), c[6], c[7] in unit B (TX)


def seed_data(app: Flask) -> Data:
    org = seed_org(app)
    with app.app_context():
        s = app.extensions["portal"].db.session()
        p = org.people
        c = list(org.customers)
        for i in (6, 7):
            cust = Customer(license_no=f"33048320{i:04d}", customer_code=f"330406{i:06d}",
                            name=f"桐乡测试便利店{i}", org_unit_id=org.unit_b, grade=12,
                            license_valid_to=LICENCE_VALID_TO, inspector_id=p["zg2"],
                            account_manager_id=p["km"], deliveryman_id=p["sh"])
            s.add(cust)
            s.flush()
            c.append(cust.id)
        k = iter(range(1, 1000))

        def purchase(ci: int, day: date, cartons: int, own: int | None) -> Purchase:
            return Purchase(customer_id=c[ci], source="t", source_key=f"p{next(k)}",
                            ordered_on=day, cartons=cartons, own_cartons=own,
                            amount=cartons * 100.0)

        s.add_all([
            purchase(0, date(2026, 11, 3), 100, 60), purchase(1, date(2026, 11, 10), 50, 20),
            purchase(2, date(2026, 11, 20), 40, 40), purchase(6, date(2026, 11, 5), 30, 30),
            purchase(0, date(2026, 10, 2), 80, 40), purchase(1, date(2026, 11, 15), 10, None),
        ])
        s.add_all([
            SalesPlan(month=date(2026, 11, 1), person_id=p["km"], org_unit_id=org.unit_a,
                      cartons=200),
            SalesPlan(month=date(2026, 10, 1), person_id=p["km"], org_unit_id=org.unit_a,
                      cartons=100),
        ])

        def case(ci: int, day: date, kind: str) -> Case:
            return Case(customer_id=c[ci], source="t", source_key=f"c{next(k)}",
                        case_type=kind, status="FILED", filed_on=day)

        s.add_all([case(0, date(2026, 11, 2), "FAKE"), case(0, date(2026, 11, 12), "SMUGGLED"),
                   case(6, date(2026, 11, 3), "FAKE"), case(1, date(2026, 10, 30), "FAKE")])

        def insp(ci: int, day: date, bad: bool) -> Inspection:
            return Inspection(customer_id=c[ci], source="t", source_key=f"i{next(k)}",
                              inspected_on=day, violation=bad)

        s.add_all([insp(0, date(2026, 11, 1), False), insp(1, date(2026, 11, 5), False),
                   insp(2, date(2026, 11, 6), True), insp(3, date(2026, 11, 7), False),
                   insp(6, date(2026, 11, 8), False), insp(3, date(2026, 11, 9), False)])

        def dlv(ci: int, day: date, status: str) -> Delivery:
            return Delivery(customer_id=c[ci], source="t", source_key=f"d{next(k)}",
                            planned_on=day, sign_status=status)

        s.add_all([dlv(0, date(2026, 11, 4), "SIGNED"), dlv(1, date(2026, 11, 11), "PROXY"),
                   dlv(2, date(2026, 11, 12), "REFUSED"), dlv(6, date(2026, 11, 6), "CLOSED_SHOP"),
                   dlv(3, date(2026, 11, 16), "SIGNED")])
        # a second account manager in unit A, for the team ranking
        post = s.query(Post).filter_by(code="account_manager").one()
        km2 = Person(username="km2", display_name="陈经理", org_unit_id=org.unit_a,
                     password_hash=s.get(Person, p["km"]).password_hash)
        s.add(km2)
        s.flush()
        s.add(PostAssignment(person_id=km2.id, post_id=post.id, org_unit_id=org.unit_a))
        p["km2"] = km2.id
        s.commit()
    return Data(org, c)


@pytest.fixture(params=["sqlite", "postgresql"])
def kapp(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Flask]:
    """English pages, so messages can be asserted; both databases."""
    url = (f"sqlite:///{tmp_path}/portal.db" if request.param == "sqlite"
           else request.getfixturevalue("pg_url"))
    app = make_app(url, DEFAULT_LOCALE="en")
    yield app
    app.extensions["portal"].db.engine.dispose()


@pytest.fixture
def sapp(tmp_path: Any) -> Iterator[Flask]:
    app = make_app(f"sqlite:///{tmp_path}/portal.db", DEFAULT_LOCALE="en")
    yield app
    app.extensions["portal"].db.engine.dispose()
