"""insert_rows / update_rows: many rows in one statement, with the same result as the ORM."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask
from sqlalchemy import select

from portal.bulk import insert_rows, update_rows
from portal.models import Customer, OutboxEvent
from tests.conftest import seed_org


def test_insert_rows_applies_defaults_and_returns_keys(db_app: Flask) -> None:
    with db_app.app_context():
        s = db_app.extensions["portal"].db.session()
        payloads = [{"n": i, "text": 'quote " and \\ backslash，中文'} for i in range(3)]
        made = insert_rows(s, OutboxEvent.__table__,
                           [{"type": "bulk.test", "payload": p} for p in payloads],
                           returning=("id", "payload"))
        s.commit()
        assert sorted(p["n"] for _id, p in made) == [0, 1, 2]
        rows = s.execute(select(OutboxEvent.payload, OutboxEvent.attempts,
                                OutboxEvent.created_at).order_by(OutboxEvent.id)).all()
        assert [r.payload for r in rows] == payloads  # JSON round trip, escapes and all
        assert {r.attempts for r in rows} == {0}  # the column's Python default
        assert all(r.created_at is not None for r in rows)  # the server default


def test_update_rows_sets_columns_and_onupdate(db_app: Flask) -> None:
    org = seed_org(db_app)
    with db_app.app_context():
        s = db_app.extensions["portal"].db.session()
        ids = org.customers[:2]
        before = {cid: at for cid, at in s.execute(select(Customer.id, Customer.updated_at)
                                                   .where(Customer.id.in_(ids)))}
        untouched = s.scalar(select(Customer.grade).where(Customer.id == org.customers[2]))
        s.commit()
        update_rows(s, Customer.__table__, ("id",), ("grade", "license_valid_to", "phone"),
                    [{"id": ids[0], "grade": 29, "license_valid_to": date(2030, 1, 31),
                      "phone": None},
                     {"id": ids[1], "grade": 3, "license_valid_to": None, "phone": "0573-1"}])
        s.commit()
        rows = {r.id: r for r in s.execute(select(
            Customer.id, Customer.grade, Customer.license_valid_to, Customer.phone,
            Customer.updated_at).where(Customer.id.in_(ids)))}
        assert (rows[ids[0]].grade, rows[ids[0]].license_valid_to, rows[ids[0]].phone) == \
            (29, date(2030, 1, 31), None)
        assert (rows[ids[1]].grade, rows[ids[1]].license_valid_to, rows[ids[1]].phone) == \
            (3, None, "0573-1")
        for cid in ids:
            assert isinstance(rows[cid].updated_at, datetime)
            assert before[cid] is None or rows[cid].updated_at >= before[cid]
        assert s.scalar(select(Customer.grade).where(
            Customer.id == org.customers[2])) == untouched
