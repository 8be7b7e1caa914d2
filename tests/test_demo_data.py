"""The demo generator: deterministic, valid licence numbers, the three staff of every customer in
the customer's own unit, the fixed demo accounts, 250 delivery routes, ``--if-empty``."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from portal.app import create_app
from portal.demo.generate import DemoDataError, is_valid_license_no, run
from portal.migrate import upgrade
from portal.models import Customer, OrgUnit, Person, Post, PostAssignment
from portal.passwords import verify_password
from portal.staff import three_staff_report

CUSTOMERS = 500
COUNTIES = {"市区": ("330402", "330411"), "嘉善": ("330421",), "海盐": ("330424",),
            "海宁": ("330481",), "平湖": ("330482",), "桐乡": ("330483",)}


def _fresh_app(folder: Path) -> Flask:
    folder.mkdir(parents=True, exist_ok=True)
    app = create_app({"DATABASE_URL": f"sqlite:///{folder}/t.db", "TESTING": True,
                      "SECRET_KEY": "t"})
    with app.app_context():
        upgrade(app)
    return app


def _dispose(app: Flask) -> None:
    app.extensions["portal"].db.remove()
    app.extensions["portal"].db.engine.dispose()


def _generate(folder: Path, seed: int = 2026) -> tuple[Flask, str]:
    app = _fresh_app(folder)
    with app.app_context():
        summary = run(app, seed=seed, customers=CUSTOMERS)
    return app, summary


def _session(app: Flask) -> Session:
    return app.extensions["portal"].db.session()


def _customer_rows(app: Flask) -> list[tuple[Any, ...]]:
    columns = [c for c in Customer.__table__.columns if c.name != "updated_at"]
    with app.app_context():
        return [tuple(r) for r in _session(app).execute(select(*columns).order_by(Customer.id))]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One generated database shared by the read-only tests of this module."""
    app, _summary = _generate(tmp_path_factory.mktemp("demo"))
    yield app
    _dispose(app)


@pytest.fixture
def session(demo: Flask) -> Iterator[Session]:
    with demo.app_context():
        yield _session(demo)


def test_same_seed_same_rows_other_seed_other_rows(demo: Flask, tmp_path: Path) -> None:
    twin, _ = _generate(tmp_path / "twin")
    other, _ = _generate(tmp_path / "other", seed=7)
    try:
        rows = _customer_rows(demo)
        assert len(rows) == CUSTOMERS
        assert _customer_rows(twin) == rows
        assert _customer_rows(other) != rows
        people = select(Person.username, Person.display_name, Person.mobile, Person.org_unit_id)
        with demo.app_context(), twin.app_context():
            assert (_session(demo).execute(people.order_by(Person.id)).all()
                    == _session(twin).execute(people.order_by(Person.id)).all())
    finally:
        _dispose(twin)
        _dispose(other)


def test_summary_names_the_counts(tmp_path: Path) -> None:
    app, summary = _generate(tmp_path)
    _dispose(app)
    for part in ("60 inspector", "80 account_manager", "100 deliveryman", f"{CUSTOMERS} customers",
                 "250 delivery"):
        assert part in summary


def test_org_tree_and_paths(session: Session) -> None:
    units = {u.id: u for u in session.scalars(select(OrgUnit))}
    for unit in units.values():
        parent_path = units[unit.parent_id].path if unit.parent_id else "/"
        assert unit.path == f"{parent_path}{unit.id}/"
    kinds = Counter(u.kind for u in units.values())
    assert kinds == {"city": 1, "department": 5, "county": 6, "monopoly": 6, "marketing": 6,
                     "logistics": 6}
    city = next(u for u in units.values() if u.kind == "city")
    assert (city.code, city.name) == ("JX", "嘉兴市烟草专卖局(公司)")
    for county in (u for u in units.values() if u.kind == "county"):
        children = sorted(u.kind for u in units.values() if u.parent_id == county.id)
        assert children == ["logistics", "marketing", "monopoly"]
        assert county.code.isascii() and county.code.startswith("JX-")
        assert "烟草专卖局(营销部)" in county.name


def test_licence_numbers_valid_unique_and_of_the_unit(session: Session) -> None:
    rows = session.execute(select(Customer.license_no, OrgUnit.name)
                           .join(OrgUnit, OrgUnit.id == Customer.org_unit_id)).all()
    numbers = [lic for lic, _unit in rows]
    assert all(is_valid_license_no(n) for n in numbers)
    assert len(set(numbers)) == len(numbers) == CUSTOMERS
    # The 5-digit serial is unique within its county code, whatever the entity digit.
    assert len({(n[:6], n[7:]) for n in numbers}) == CUSTOMERS
    for lic, unit_name in rows:
        short = next(k for k in COUNTIES if unit_name.startswith(("嘉兴" + k, k)))
        assert lic[:6] in COUNTIES[short]
    enterprises = sum(n[6] == "2" for n in numbers)
    assert 0.02 * CUSTOMERS < enterprises < 0.15 * CUSTOMERS
    codes = session.scalars(select(Customer.customer_code)).all()
    assert len(set(codes)) == CUSTOMERS
    assert all(re.fullmatch(r"3304\d{8}", c) for c in codes)


def test_customers_split_by_unit_share(session: Session) -> None:
    per_unit = dict(session.execute(
        select(OrgUnit.code, func.count(Customer.id))
        .join(Customer, Customer.org_unit_id == OrgUnit.id).group_by(OrgUnit.code)).all())
    assert per_unit == {"JX-SQ": 123, "JX-TX": 98, "JX-HN": 97, "JX-PH": 71, "JX-JS": 56,
                        "JX-HY": 55}


def test_attribute_distributions_are_plausible(session: Session) -> None:
    grades = session.scalars(select(Customer.grade)).all()
    assert min(grades) >= 1 and max(grades) <= 30
    assert 12 < sum(grades) / len(grades) < 16
    statuses = Counter(session.scalars(select(Customer.status)))
    assert statuses["ACTIVE"] > 0.9 * CUSTOMERS
    assert set(statuses) <= {"ACTIVE", "SUSPENDED", "CANCELLED", "EXPIRED"}
    formats = Counter(session.scalars(select(Customer.business_format)))
    assert formats["便利店"] > 0.8 * CUSTOMERS
    urban = session.scalar(select(func.count()).where(Customer.market_type == "城网"))
    assert 0.6 * CUSTOMERS < (urban or 0) < 0.8 * CUSTOMERS


def test_counts_per_post(session: Session) -> None:
    counts = dict(session.execute(
        select(Post.code, func.count(PostAssignment.id))
        .join(PostAssignment, PostAssignment.post_id == Post.id).group_by(Post.code)).all())
    assert counts == {"inspector": 60, "account_manager": 80, "deliveryman": 100,
                      "dept_head": 18, "leader": 4, "office": 6, "admin": 2}
    roles = dict(session.execute(select(Post.code, Post.roles)).all())
    assert roles["leader"] == ["leader", "manager"]
    assert roles["office"] == ["staff", "office"]
    people = session.scalars(select(Person)).all()
    assert all(p.username.isascii() and p.email == f"{p.username}@jxyc.example" for p in people)
    assert all(re.fullmatch(r"13\d{9}", p.mobile or "") for p in people)
    assert all(len(p.assignments) == 1 for p in people)


@pytest.mark.parametrize(("username", "post", "unit", "manages"), [
    ("zhuanguan01", "inspector", "市区专卖管理所", False),
    ("kehu01", "account_manager", "市区营销部", False),
    ("songhuo01", "deliveryman", "市区配送站", False),
    ("bumen01", "dept_head", "市区营销部", True),
    ("lingdao01", "leader", "嘉兴市烟草专卖局(公司)", True),
    ("bangong01", "office", "办公室", False),
    ("admin", "admin", "嘉兴市烟草专卖局(公司)", False),
])
def test_fixed_demo_accounts(session: Session, username: str, post: str, unit: str,
                             manages: bool) -> None:
    person = session.scalars(select(Person).where(Person.username == username)).one()
    assert person.org_unit is not None and person.org_unit.name == unit
    (assignment,) = person.assignments
    assert assignment.post.code == post
    assert assignment.org_unit_id == person.org_unit_id
    assert assignment.manages is manages


def test_demo_password_signs_in(demo: Flask, session: Session) -> None:
    hashes = set(session.scalars(select(Person.password_hash)))
    assert len(hashes) == 1  # one hash, computed once
    assert verify_password(hashes.pop(), demo.extensions["portal"].settings["DEMO_PASSWORD"])


def test_active_customers_have_their_three_staff_in_their_own_unit(session: Session) -> None:
    assert three_staff_report(session) == []
    customer_unit = aliased(OrgUnit)
    for column, post_code, kind in (
        (Customer.inspector_id, "inspector", "monopoly"),
        (Customer.account_manager_id, "account_manager", "marketing"),
        (Customer.deliveryman_id, "deliveryman", "logistics"),
    ):
        staff, staff_unit = aliased(Person), aliased(OrgUnit)
        holds = (select(PostAssignment.id).join(Post, Post.id == PostAssignment.post_id)
                 .where(PostAssignment.person_id == staff.id, Post.code == post_code).exists())
        bad = session.scalar(
            select(func.count(Customer.id))
            .join(customer_unit, customer_unit.id == Customer.org_unit_id)
            .outerjoin(staff, staff.id == column)
            .outerjoin(staff_unit, staff_unit.id == staff.org_unit_id)
            .where(Customer.status == "ACTIVE",
                   or_(staff.id.is_(None), ~holds, staff_unit.kind != kind,
                       staff_unit.parent_id != Customer.org_unit_id,
                       ~staff_unit.path.startswith(customer_unit.path))))
        assert bad == 0, post_code
    # Not only the active ones: every customer has all three.
    assert session.scalar(select(func.count(Customer.id)).where(or_(
        Customer.inspector_id.is_(None), Customer.account_manager_id.is_(None),
        Customer.deliveryman_id.is_(None)))) == 0


def test_routes(session: Session) -> None:
    delivery = session.execute(
        select(Customer.delivery_route, Customer.deliveryman_id).distinct()).all()
    routes = {code for code, _man in delivery}
    assert len(routes) == 250
    assert all(re.fullmatch(r"PS-\d{2}-0[1-5]", r or "") for r in routes)
    assert len(delivery) == 250  # one deliveryman per route
    per_man = Counter(man for _code, man in delivery)
    assert len(per_man) == 100 and set(per_man.values()) <= {2, 3}
    inspection = session.execute(
        select(Customer.inspection_route, Customer.inspector_id).distinct()).all()
    # One inspection route per inspector, one sales route per account manager.
    assert len(inspection) == len({r for r, _ in inspection}) == 60
    assert len({i for _, i in inspection}) == 60
    assert all(re.fullmatch(r"ZM-(330402|330421|330424|330481|330482|330483)-\d{2}", r or "")
               for r, _ in inspection)
    sales = session.execute(
        select(Customer.sales_route, Customer.account_manager_id).distinct()).all()
    assert len(sales) == len({r for r, _ in sales}) == len({m for _, m in sales}) == 80
    assert all(re.fullmatch(r"YX-(SQ|JS|HY|HN|PH|TX)-\d{2}", r or "") for r, _ in sales)


def test_if_empty_leaves_an_existing_database_alone(demo: Flask) -> None:
    before = _customer_rows(demo)
    with demo.app_context():
        people = _session(demo).scalar(select(func.count(Person.id)))
        message = run(demo, seed=99, customers=50, if_empty=True)
        assert "already" in message
        assert _session(demo).scalar(select(func.count(Person.id))) == people
    assert _customer_rows(demo) == before


def test_without_if_empty_a_populated_database_is_an_error(demo: Flask) -> None:
    with demo.app_context(), pytest.raises(DemoDataError):
        run(demo, customers=50)


def test_if_empty_generates_into_an_empty_database(tmp_path: Path) -> None:
    app = _fresh_app(tmp_path)
    try:
        with app.app_context():
            summary = run(app, customers=50, if_empty=True)
            assert "50 customers" in summary
            assert _session(app).scalar(select(func.count(Customer.id))) == 50
    finally:
        _dispose(app)


def test_the_command_line(tmp_path: Path) -> None:
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from portal.cli import cli

    app = _fresh_app(tmp_path)
    try:
        info = ScriptInfo(create_app=lambda: app)
        args = ["demo-data", "--customers", "300", "--if-empty"]
        first = CliRunner().invoke(cli, args, obj=info)
        assert first.exit_code == 0, first.output
        assert "300 customers" in first.output
        again = CliRunner().invoke(cli, args, obj=info)
        assert again.exit_code == 0 and "already" in again.output
    finally:
        _dispose(app)


@pytest.mark.parametrize("good", ["330402100001", "330411200123", "330483199999",
                                  "330421100042", "330424100001", "330481100001",
                                  "330482212345"])
def test_valid_license_numbers(good: str) -> None:
    assert is_valid_license_no(good)


@pytest.mark.parametrize("bad", [
    "", "12345", "3304811000010", "33048110000", "33048110000a", "abcdefghijkl",
    " 330481100001", "330481100001\n",
    "110101100001",  # a Beijing county code
    "330400100001",  # Jiaxing city itself, not a county
    "330481300001", "330481000001", "330481900001",  # entity type not 1/2
    "330481100000",  # serial 00000
    "３３０４８１１００００１",  # full-width digits
])
def test_invalid_license_numbers(bad: str) -> None:
    assert not is_valid_license_no(bad)
