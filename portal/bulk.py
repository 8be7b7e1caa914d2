"""Set-based writes of many rows: one statement and one parameter on PostgreSQL.

Why: a batch of the sync engine writes thousands of rows to a handful of tables. An
executemany is one statement per row for the server; SQLAlchemy's ``VALUES`` construct or
arrays per column are one statement, but binding thousands of parameters (or escaping every
quote of every element of a text array) costs more Python time than the statement itself.
Here the rows travel as *one* JSON document, made by the C encoder, which the server unpacks
with ``json_to_recordset`` into columns typed as the table's. Elsewhere (SQLite) both functions
fall back to an executemany, which is cheap in-process.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, Table, bindparam, insert, text, update
from sqlalchemy.orm import Session

#: Rows per statement: bounds the size of one document.
CHUNK = 5000


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]],
                returning: Sequence[str] = ()) -> list[Row[Any]]:
    """Insert *rows* (dicts of column → value) into *table*; the *returning* columns of the
    new rows, in no particular order (return a key you know to match them up).

    Scalar Python defaults and server defaults apply to the columns a row leaves out.
    """
    if not rows:
        return []
    if session.get_bind().dialect.name != "postgresql":
        names = list(dict.fromkeys(n for r in rows for n in r))
        full = [{n: r.get(n, _default(table, n)) for n in names} for r in rows]
        if returning:
            return list(session.execute(insert(table).returning(
                *(table.c[n] for n in returning)), full))
        session.execute(insert(table), full)
        return []
    names = list(dict.fromkeys(n for r in rows for n in r))
    names += [c.name for c in table.c if c.name not in names
              and getattr(c.default, "is_scalar", False)]
    quote = session.get_bind().dialect.identifier_preparer.quote
    cols = ", ".join(quote(n) for n in names)
    sql = (f"INSERT INTO {quote(table.name)} ({cols}) SELECT {cols} "
           f"FROM json_to_recordset(CAST(:doc AS JSON)) AS v({_record(session, table, names)})")
    if returning:
        sql += f" RETURNING {', '.join(quote(n) for n in returning)}"
    out: list[Row[Any]] = []
    for chunk in _chunks(rows, CHUNK):
        result = session.execute(text(sql), {"doc": _document(table, names, chunk)})
        if returning:
            out.extend(result)
    return out


def update_rows(session: Session, table: Table, keys: Sequence[str], columns: Sequence[str],
                rows: Sequence[Mapping[str, Any]]) -> None:
    """Set *columns* of the rows of *table* identified by *keys*, values taken from *rows*.

    Columns with a SQL ``onupdate`` (``updated_at``) follow it, as with ``update()``. On
    PostgreSQL one ``UPDATE … FROM json_to_recordset(…)`` per chunk of rows.
    """
    if not rows:
        return
    names = [*keys, *columns]
    if session.get_bind().dialect.name != "postgresql":
        session.execute(update(table).where(*(table.c[k] == bindparam(f"b_{k}") for k in keys))
                        .values({c: bindparam(f"b_{c}") for c in columns}),
                        [{f"b_{n}": r[n] for n in names} for r in rows])
        return
    dialect = session.get_bind().dialect
    quote = dialect.identifier_preparer.quote
    sets = [f"{quote(c)} = v.{quote(c)}" for c in columns]
    sets += [f"{quote(col.name)} = {sql_onupdate.compile(dialect=dialect)}"
             for col in table.c if col.name not in columns
             and (sql_onupdate := _sql_onupdate(col)) is not None]
    sql = text(f"UPDATE {quote(table.name)} AS t SET {', '.join(sets)} "
               f"FROM json_to_recordset(CAST(:doc AS JSON)) AS v({_record(session, table, names)}) "
               f"WHERE {' AND '.join(f't.{quote(k)} = v.{quote(k)}' for k in keys)}")
    for chunk in _chunks(rows, CHUNK):
        session.execute(sql, {"doc": _document(table, names, chunk)})


def _sql_onupdate(col: Any) -> Any:
    """The column's ``onupdate`` if it is a SQL expression (``func.now()``), else ``None``."""
    default = col.onupdate
    return default.arg if getattr(default, "is_clause_element", False) else None


def _default(table: Table, name: str) -> Any:
    given: Any = table.c[name].default
    return given.arg if getattr(given, "is_scalar", False) else None


def _record(session: Session, table: Table, names: Sequence[str]) -> str:
    """``name type, …``: the record's columns typed as the table's."""
    dialect = session.get_bind().dialect
    quote = dialect.identifier_preparer.quote
    return ", ".join(f"{quote(n)} {table.c[n].type.compile(dialect=dialect)}" for n in names)


def _document(table: Table, names: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    defaults = {n: _default(table, n) for n in names}
    return json.dumps([{n: r.get(n, defaults[n]) for n in names} for r in rows],
                      ensure_ascii=False, separators=(",", ":"), default=_plain)


def _plain(value: Any) -> Any:
    """Dates and times as ISO text (what PostgreSQL reads back), decimals as numbers."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} in bulk")


def _chunks(rows: Sequence[Mapping[str, Any]], size: int) -> list[Sequence[Mapping[str, Any]]]:
    return [rows[i:i + size] for i in range(0, len(rows), size)]
