"""End to end: a change in a source database → the customer's recipients per the matrix get
a notice (exactly once), the others do not."""

from __future__ import annotations

from sqlalchemy import select

from connectors.models import FieldChange, LicenseEvent
from connectors.sync.engine import SyncEngine
from portal.models import Customer
from portlets.notices.models import Notice, NoticeReceipt
from tests.connectors.helpers import delivery, licence_txn, marketing_update


def _receipts(app, kind):
    with app.app_context():
        s = app.extensions["portal"].db.session()
        return sorted(s.scalars(select(NoticeReceipt.person_id).join(Notice).where(
            Notice.kind == kind)))


def test_licence_suspension_reaches_exactly_the_three_staff(world):
    w = world
    w.sync()  # the seeded history first
    licence_txn(w.systems, "330481100002", "TY", ZT="02")
    [monopoly] = w.sync("monopoly")
    assert monopoly.ok and monopoly.events == 1
    people = w.org.people
    assert _receipts(w.app, "customer.license_suspended") == sorted(
        [people["zg"], people["km"], people["sh"]])
    with w.app.app_context():
        s = w.app.extensions["portal"].db.session()
        customer = s.scalars(select(Customer).where(
            Customer.license_no == "330481100002")).one()
        assert customer.status == "SUSPENDED"
        change = s.scalars(select(FieldChange).where(
            FieldChange.customer_id == customer.id, FieldChange.field == "status")).one()
        assert (change.old, change.new, change.source, change.event) == (
            "ACTIVE", "SUSPENDED", "monopoly", "LICENSE_SUSPENDED")
        notice = s.scalars(select(Notice).where(
            Notice.kind == "customer.license_suspended")).one()
        assert notice.link == f"/p/customer_trace/c/{customer.id}"
        assert "330481100002" in notice.content

    # Running again changes nothing and tells nobody twice.
    [again] = w.sync("monopoly")
    assert again.read == 0
    assert len(_receipts(w.app, "customer.license_suspended")) == 3


def test_renewal_is_told_to_inspector_and_account_manager_only(world):
    w = world
    licence_txn(w.systems, "330481100001", "YX", YXQZ="20311231")
    w.sync("monopoly")
    people = w.org.people
    assert _receipts(w.app, "customer.license_renewed") == sorted([people["zg"], people["km"]])
    with w.app.app_context():
        s = w.app.extensions["portal"].db.session()
        c = s.scalars(select(Customer).where(Customer.license_no == "330481100001")).one()
        assert c.license_valid_to.isoformat() == "2031-12-31"
        assert s.scalars(select(LicenseEvent.event).where(
            LicenseEvent.customer_id == c.id)).all() == ["LICENSE_RENEWED"]


def test_grade_change_and_delivery_exception_follow_the_matrix(sqlite_world):
    w = sqlite_world
    w.sync()
    marketing_update(w.systems, "330401000003", grade_code="D20")
    delivery(w.systems, "330401000003", "PS-T-1", status="REFUSED", note="客户拒收")
    delivery(w.systems, "330401000003", "PS-T-2", status="SIGNED")
    w.sync("marketing", "logistics")
    people = w.org.people
    assert _receipts(w.app, "customer.grade_changed") == sorted([people["zg"], people["sh"]])
    assert _receipts(w.app, "customer.delivery_exception") == sorted(
        [people["zg"], people["km"]])


def test_an_address_change_is_an_address_change_for_everyone(sqlite_world):
    w = sqlite_world
    licence_txn(w.systems, "330481100004", "BG", JYDZ="海宁市硖石街道人民路1号")
    w.sync("monopoly")
    people = w.org.people
    assert _receipts(w.app, "customer.address_changed") == sorted(
        [people["zg"], people["km"], people["sh"]])
    assert _receipts(w.app, "customer.license_changed") == []


def test_licences_entering_their_last_30_days_are_told_once(sqlite_world):
    from datetime import timedelta

    from connectors.sync.expiring import remind_expiring
    from tests.conftest import LICENCE_VALID_TO as END

    w = sqlite_world
    with w.app.app_context():
        db = w.app.extensions["portal"].db
        with db.transaction() as s:
            assert remind_expiring(s, today=END - timedelta(days=42)) == 0
        with db.transaction() as s:
            assert remind_expiring(s, today=END - timedelta(days=27)) == 6
        with db.transaction() as s:
            assert remind_expiring(s, today=END - timedelta(days=26)) == 0  # once per expiry
        SyncEngine(w.app)._dispatch()
    people = w.org.people
    assert _receipts(w.app, "customer.license_expiring") == sorted(
        [people["zg"]] * 6 + [people["km"]] * 6)
