"""``portal.query.run``: the prebuilt-query fast path answers exactly as ``Connection.execute``
does, on SQLite and on PostgreSQL: types converted both ways, ``IN`` lists of any length,
listeners called, driver errors wrapped."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    TypeDecorator,
    bindparam,
    event,
    func,
    literal_column,
    select,
)
from sqlalchemy.exc import DBAPIError, InvalidRequestError, MultipleResultsFound, NoResultFound

from portal.db import db_session
from portal.query import run


class Code(TypeDecorator[str]):
    """Stored upper case, read back lower case: shows that both processors run."""

    impl = String(20)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else value.upper()

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else value.lower()


META = MetaData()
THING = Table(
    "query_test_thing", META,
    Column("id", Integer, primary_key=True),
    Column("name", String(40), nullable=False),
    Column("born", Date),
    Column("seen", DateTime),
    Column("data", JSON),
    Column("amount", Numeric(10, 2)),
    Column("code", Code),
)
ROWS = [
    {"id": 1, "name": "甲", "born": date(2020, 1, 31), "seen": datetime(2026, 3, 1, 8, 30),
     "data": {"title": "一", "n": [1, 2]}, "amount": Decimal("12.50"), "code": "ab"},
    {"id": 2, "name": "乙", "born": date(2021, 6, 1), "seen": None, "data": None,
     "amount": Decimal("0.00"), "code": "cd"},
    {"id": 3, "name": "丙", "born": None, "seen": datetime(2026, 3, 2, 23, 59, 59),
     "data": {"title": "三"}, "amount": None, "code": None},
]

c = THING.c
BY_IDS = select(c.id, c.name, c.born, c.seen, c.data, c.amount).where(
    c.id.in_(bindparam("ids"))).order_by(c.id)
SINCE = (select(c.name, c.seen.label("when")).where(c.seen >= bindparam("since"))
         .order_by(c.seen))
BORN_IN = select(c.id).where(c.born.in_(bindparam("days")), c.name != "无").order_by(c.id)
COUNT = select(func.count()).select_from(THING).where(c.id > 1)
LIMITED = select(c.id).order_by(c.id.desc()).limit(bindparam("limit"))
LITERAL = select(c.id).where(c.id == bindparam("id", literal_execute=True))
BY_CODE = select(c.id, c.code).where(c.code.in_(bindparam("codes"))).order_by(c.id)
NO_TABLE = select(literal_column("x")).select_from(Table("query_test_missing", MetaData()))


@pytest.fixture
def db(db_app: Flask) -> Any:
    engine = db_app.extensions["portal"].db.engine
    META.create_all(engine)
    with engine.begin() as conn:
        conn.execute(THING.insert(), ROWS)
    with db_app.app_context():
        yield db_session()
    META.drop_all(engine)


def expected(db: Any, statement: Any, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in db.connection().execute(statement, params)]


@pytest.mark.parametrize("ids", [[1, 2, 3], [3], [2, 3], []])
def test_rows_and_types_match_connection_execute(db: Any, ids: list[int]) -> None:
    rows = run(BY_IDS, {"ids": ids})
    assert [tuple(r) for r in rows] == expected(db, BY_IDS, {"ids": ids})
    assert len(rows) == len(ids)
    if 1 in ids:
        first = rows.first()
        assert first.born == date(2020, 1, 31) and first.seen == datetime(2026, 3, 1, 8, 30)
        assert first.data == {"title": "一", "n": [1, 2]}
        assert first.amount == Decimal("12.50")
        assert first._asdict()["name"] == "甲"


def test_bind_processors_convert_parameters(db: Any) -> None:
    since = datetime(2026, 3, 2)
    rows = run(SINCE, {"since": since}).all()
    assert rows == [("丙", datetime(2026, 3, 2, 23, 59, 59))]
    assert rows[0].when == datetime(2026, 3, 2, 23, 59, 59)
    days = [date(2021, 6, 1), date(2020, 1, 31), date(1999, 1, 1)]
    assert run(BORN_IN, {"days": days}).scalars().all() == [1, 2]
    assert [tuple(r) for r in run(BORN_IN, {"days": days})] == expected(db, BORN_IN,
                                                                      {"days": days})
    assert run(BY_CODE, {"codes": ["cd", "ab", "zz"]}).all() == [(1, "ab"), (2, "cd")]


def test_literal_values_limit_and_scalars(db: Any) -> None:
    assert run(COUNT).scalar_one() == 2
    assert run(LIMITED, {"limit": 2}).scalars().all() == [3, 2]
    assert run(LITERAL, {"id": 2}).scalar_one_or_none() == 2  # through Connection.execute
    assert run(LITERAL, {"id": 9}).scalar() is None


def test_result_helpers_refuse_the_wrong_number_of_rows(db: Any) -> None:
    with pytest.raises(MultipleResultsFound):
        run(BY_IDS, {"ids": [1, 2]}).one()
    with pytest.raises(NoResultFound):
        run(BY_IDS, {"ids": [9]}).one()
    assert run(BY_IDS, {"ids": [9]}).one_or_none() is None


def test_a_missing_parameter_is_an_error_not_a_null(db: Any) -> None:
    with pytest.raises(InvalidRequestError, match="since"):
        run(SINCE, {})
    with pytest.raises(InvalidRequestError, match="ids"):
        run(BY_IDS, {})


def test_listeners_see_the_statement_and_driver_errors_are_wrapped(db: Any) -> None:
    seen: list[str] = []

    def listen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", listen)
    try:
        run(BY_IDS, {"ids": [1, 2]})
        assert seen and "query_test_thing" in seen[-1]
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    with pytest.raises(DBAPIError):
        run(NO_TABLE)
    db.rollback()


def test_it_runs_in_the_sessions_transaction(db: Any) -> None:
    db.connection().execute(THING.insert(), [{"id": 4, "name": "丁"}])
    assert run(BY_IDS, {"ids": [4]}).scalar_one() == 4  # the uncommitted row
    db.rollback()
    assert run(BY_IDS, {"ids": [4]}).first() is None
