"""Set-based writes of many rows: one statement with one array per column on PostgreSQL.

Why: a batch of the sync engine writes thousands of rows to a handful of tables. An
executemany is one statement per row for the server; SQLAlchemy's ``VALUES`` construct is one
statement, but compiling its thousands of bind parameters costs more Python time than the
statement itself. ``unnest`` of one array parameter per column is one small, constant
statement (the server may keep it prepared) whatever the number of rows.
Elsewhere (SQLite) both functions fall back to an executemany, which is cheap in-process.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, Table, bindparam, insert, text, update
from sqlalchemy.orm import Session

#: Rows per statement: bounds the size of one statement's arrays.
CHUNK = 5000


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert *rows* (dicts of column → value, all with the same keys) into *table*.

    Column defaults that are plain Python values or server defaults apply to the columns the
    rows leave out; nothing is returned (the caller does not need the new keys).
    """
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), list(rows))
        return
    names = list(dict.fromkeys(n for r in rows for n in r))
    for col in table.c:  # scalar Python defaults, as ``insert()`` would apply them
        default = col.default
        if col.name not in names and default is not None and getattr(default, "is_scalar",
                                                                      False):
            names.append(col.name)
    quote = session.get_bind().dialect.identifier_preparer.quote
    sql = text(f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
               f"SELECT * FROM unnest({_arrays(session, table, names)})")
    for chunk in _chunks(rows, CHUNK):
        session.execute(sql, _params(table, names, chunk))


def update_rows(session: Session, table: Table, keys: Sequence[str], columns: Sequence[str],
                rows: Sequence[Mapping[str, Any]]) -> None:
    """Set *columns* of the rows of *table* identified by *keys*, values taken from *rows*.

    Columns with a SQL ``onupdate`` (``updated_at``) follow it, as with ``update()``. On
    PostgreSQL one ``UPDATE … FROM unnest(…)`` per chunk of rows.
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
               f"FROM unnest({_arrays(session, table, names)}) "
               f"AS v({', '.join(quote(n) for n in names)}) "
               f"WHERE {' AND '.join(f't.{quote(k)} = v.{quote(k)}' for k in keys)}")
    for chunk in _chunks(rows, CHUNK):
        session.execute(sql, _params(table, names, chunk))


def _sql_onupdate(col: Any) -> Any:
    """The column's ``onupdate`` if it is a SQL expression (``func.now()``), else ``None``."""
    default = col.onupdate
    return default.arg if getattr(default, "is_clause_element", False) else None


def _arrays(session: Session, table: Table, names: Sequence[str]) -> str:
    """``CAST(:p0 AS type[]), …``: the arrays typed as their columns (a list of NULLs or of
    Python ints would otherwise reach the server as some other type)."""
    dialect = session.get_bind().dialect
    return ", ".join(f"CAST(:p{i} AS {table.c[n].type.compile(dialect=dialect)}[])"
                     for i, n in enumerate(names))


def _params(table: Table, names: Sequence[str], rows: Sequence[Mapping[str, Any]]
            ) -> dict[str, list[Any]]:
    params: dict[str, list[Any]] = {}
    for i, n in enumerate(names):
        col = table.c[n]
        given: Any = col.default
        default = given.arg if getattr(given, "is_scalar", False) else None
        values = [r.get(n, default) for r in rows]
        if isinstance(col.type, JSON):  # as text: arrays of JSON have no Python adapter
            values = [None if v is None else json.dumps(v) for v in values]
        params[f"p{i}"] = values
    return params


def _chunks(rows: Sequence[Mapping[str, Any]], size: int) -> list[Sequence[Mapping[str, Any]]]:
    return [rows[i:i + size] for i in range(0, len(rows), size)]
