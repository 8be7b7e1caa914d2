"""Integrity stars: the documented rule on the hand-made data, history, the change event."""

from __future__ import annotations

from datetime import date

from flask import Flask
from sqlalchemy import select

from connectors.kpi_models import IntegrityStar
from connectors.models import Case, FieldChange
from connectors.stars import StarRule, current_stars, history
from portal.events import dispatch_pending
from portlets.indicators.recompute import recompute
from portlets.notices.models import Notice, NoticeReceipt
from tests.indicators.conftest import DAY, seed_data


def test_rule_is_configurable() -> None:
    rule = StarRule({"AAA": 5, "AA": 4, "C": 1}, case_days=365, case_penalty=2,
                    no_order_days=28, no_order_penalty=1)
    assert rule.stars("AAA", 0, date(2026, 11, 10), DAY)[0] == 5
    assert rule.stars("AAA", 1, date(2026, 11, 10), DAY)[0] == 3  # two stars per case
    assert rule.stars("AA", 0, None, DAY)[0] == 3  # never ordered
    assert rule.stars("AA", 0, date(2026, 10, 1), DAY)[0] == 3  # 45 days without an order
    assert rule.stars("C", 3, None, DAY)[0] == 1  # never below one


def test_stars_history_and_change_event(kapp: Flask) -> None:
    d = seed_data(kapp)
    with kapp.app_context():
        s = kapp.extensions["portal"].db.session()
        recompute(kapp, s, DAY, ("day",))
        stars = current_stars(s)
        # c0: AA (4) - 2 cases = 2; c1: AA - 1 case (30 Oct) = 3; c3: AA, never ordered = 3
        assert stars[d.c[0]] == 2 and stars[d.c[1]] == 3 and stars[d.c[3]] == 3
        assert len(stars) == 8
        # the first rating is not a change: nobody is told
        assert s.scalar(select(FieldChange.id).where(
            FieldChange.field == "integrity_star")) is None
        s.add(Case(customer_id=d.c[1], source="t", source_key="new", case_type="FAKE",
                   status="FILED", filed_on=date(2026, 11, 16)))
        s.commit()
        recompute(kapp, s, date(2026, 11, 16), ("day",))
        assert current_stars(s)[d.c[1]] == 2
        assert [h.stars for h in history(s, d.c[1])] == [2, 3]
        assert s.scalar(select(FieldChange.new).where(
            FieldChange.field == "integrity_star", FieldChange.customer_id == d.c[1])) == "2"
        # running the same day again writes nothing new
        n = len(s.scalars(select(IntegrityStar.id)).all())
        recompute(kapp, s, date(2026, 11, 16), ("day",))
        assert len(s.scalars(select(IntegrityStar.id)).all()) == n
        s.commit()
        dispatch_pending(kapp)
        told = sorted(s.scalars(select(NoticeReceipt.person_id).join(Notice).where(
            Notice.kind == "customer.integrity_stars_changed")))
    p = d.org.people
    assert told == sorted([p["zg"], p["km"], p["sh"]])


def test_stars_in_the_trace_and_my_customers(sapp: Flask) -> None:
    from tests.conftest import Auth

    d = seed_data(sapp)
    with sapp.app_context():
        s = sapp.extensions["portal"].db.session()
        recompute(sapp, s, DAY, ("day",))
        s.add(Case(customer_id=d.c[1], source="t", source_key="new", case_type="FAKE",
                   status="FILED", filed_on=date(2026, 11, 16)))
        s.commit()
        recompute(sapp, s, date(2026, 11, 16), ("day",))
    auth = Auth(sapp.test_client())
    auth.login("km")
    html = auth.client.get(f"/p/customer_trace/c/{d.c[1]}").get_data(as_text=True)
    assert 'data-stars="2"' in html and "★★☆☆☆" in html
    assert "Integrity stars history" in html and "2026-11-15" in html
    page = auth.client.get("/p/my_customers/").get_data(as_text=True)
    row = page.split("海宁测试便利店1")[1].split("</tr>")[0]
    assert 'data-stars="2"' in row
