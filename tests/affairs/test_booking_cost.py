"""What one booking costs in SQL: lock the room (the UPDATE also says whether it exists),
check for an overlap, insert — three statements; a refusal adds the two names its message
gives. Counts, not timings (bench/affairs.py prints those)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import event

from portal.toolkit import Principal
from portlets.affairs import service
from portlets.affairs.errors import Conflict, NotFound

START = datetime.combine(datetime.now().date() + timedelta(days=5), datetime.min.time()) + \
    timedelta(hours=9)


def test_statements_of_one_booking_and_one_refusal(aapp: Flask) -> None:
    org = aapp.config["TEST_ORG"]
    room = aapp.config["TEST_IDS"]["room1"]
    me = Principal(person_id=org.people["zg"], username="zg", display_name="张专管",
                   org_unit_id=org.unit_a)
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        seen.append(statement.split()[0].upper())

    with aapp.app_context():
        s = aapp.extensions["portal"].db.session()
        engine = aapp.extensions["portal"].db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            service.book(s, me, room, "周例会", START, START + timedelta(hours=1))
            s.commit()
            assert seen == ["UPDATE", "SELECT", "INSERT"]
            seen.clear()
            with pytest.raises(Conflict) as exc:
                service.book(s, me, room, "撞车", START, START + timedelta(minutes=30))
            assert "第一会议室" in exc.value.message and "张专管" in exc.value.message
            assert seen == ["UPDATE", "SELECT", "SELECT", "SELECT"]
            s.rollback()
            seen.clear()
            with pytest.raises(NotFound):
                service.book(s, me, 9999, "无此会议室", START, START + timedelta(hours=1))
            assert seen == ["UPDATE"]
            s.rollback()
        finally:
            event.remove(engine, "before_cursor_execute", count)
