"""The shared domain model: the org tree, and the three staff (三员) of every active customer."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.models import Customer, Person, Post, PostAssignment
from portal.people import subtree_ids
from portal.staff import three_staff_report
from tests.conftest import Runner, seed_org


def test_active_customer_needs_its_three_staff(db_app: Flask) -> None:
    org = seed_org(db_app)
    with db_app.app_context():
        s = db_app.extensions["portal"].db.session()
        s.add(Customer(license_no="330481100999", customer_code="330401999999", name="无人店",
                       org_unit_id=org.unit_a, grade=5, status="ACTIVE",
                       inspector_id=org.people["zg"], account_manager_id=org.people["km"]))
        with pytest.raises(IntegrityError):
            s.flush()
        s.rollback()
        # A suspended customer may lack staff; activating it without them is refused.
        c = Customer(license_no="330481100998", customer_code="330401999998", name="停业店",
                     org_unit_id=org.unit_a, grade=5, status="SUSPENDED")
        s.add(c)
        s.commit()
        c.status = "ACTIVE"
        with pytest.raises(IntegrityError):
            s.commit()
        s.rollback()


def test_grade_is_d1_to_d30(db_app: Flask) -> None:
    org = seed_org(db_app)
    with db_app.app_context():
        s = db_app.extensions["portal"].db.session()
        c = s.get(Customer, org.customers[0])
        c.grade = 31
        with pytest.raises(IntegrityError):
            s.commit()
        s.rollback()


def test_report_finds_staff_who_left_or_hold_another_post(db_app: Flask) -> None:
    org = seed_org(db_app)
    with db_app.app_context():
        s = db_app.extensions["portal"].db.session()
        assert three_staff_report(s) == []
        s.get(Person, org.people["sh"]).active = False  # the deliveryman left
        first = s.get(Customer, org.customers[0])
        first.inspector_id = org.people["km"]  # an account manager is not an inspector
        s.commit()
        problems = {(p.customer_id, p.role, p.problem) for p in three_staff_report(s)}
        assert (first.id, "inspector", "wrong_post") in problems
        assert all((cid, "deliveryman", "inactive") in problems for cid in org.customers)
        assert len(problems) == len(org.customers) + 1


def test_staff_report_command_exit_code(app: Flask, runner: Runner) -> None:
    org = seed_org(app)
    ok = runner.invoke(["staff-report"])
    assert ok.exit_code == 0 and "0 problem(s)" in ok.output
    with app.app_context():
        s = app.extensions["portal"].db.session()
        post = s.scalar(select(Post.id).where(Post.code == "deliveryman"))
        s.query(PostAssignment).filter_by(person_id=org.people["sh"], post_id=post).delete()
        s.commit()
    bad = runner.invoke(["staff-report"])
    assert bad.exit_code == 1 and "deliveryman: wrong_post" in bad.output


def test_org_subtree(app: Flask) -> None:
    org = seed_org(app)
    with app.app_context():
        s = app.extensions["portal"].db.session()
        assert set(subtree_ids(s, org.city)) == {org.city, org.unit_a, org.unit_b}
        assert subtree_ids(s, org.unit_b) == [org.unit_b]
        assert subtree_ids(s, 99999) == []


def test_customer_scope_of_sub_department_is_its_county(app: Flask) -> None:
    from portal.auth import Principal
    from portal.models import OrgUnit
    from portal.people import customer_scope

    org = seed_org(app)
    with app.app_context():
        s = app.extensions["portal"].db.session()
        county = s.get(OrgUnit, org.unit_a)
        marketing = OrgUnit(code="HN-YX", name="海宁营销部", kind="marketing",
                            parent_id=county.id)
        s.add(marketing)
        s.flush()
        marketing.path = f"{county.path}{marketing.id}/"
        s.commit()
        head = Principal(1, "h", "H", marketing.id, managed_units=(marketing.id,))
        assert set(customer_scope(s, head)) == {org.unit_a, marketing.id}
        leader = Principal(2, "l", "L", org.city, managed_units=(org.city,))
        assert set(customer_scope(s, leader)) >= {org.city, org.unit_a, org.unit_b}
        clerk = Principal(3, "c", "C", org.unit_b)
        assert customer_scope(s, clerk) == [org.unit_b]
