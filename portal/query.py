"""Query helpers that stay fast on every database the portal supports."""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Executable, and_
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import InvalidRequestError, MultipleResultsFound, NoResultFound
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement

from portal.db import db_session

#: Sorts after every character a prefix can be followed by (the last code point of the BMP
#: private use area is not used in names, codes or paths).
PREFIX_END = "\U0010ffff"
_AFTER = PREFIX_END


def prefix_match(column: Any, prefix: str) -> ColumnElement[bool]:
    """``column`` starts with ``prefix``, as a range (``>= prefix AND < prefix + max``).

    ``LIKE 'x%'`` only uses a btree index on PostgreSQL with the C collation and on SQLite with
    case-sensitive LIKE; a range uses the plain index on both, and needs no escaping of ``%``
    and ``_``.
    """
    return and_(column >= prefix, column < prefix + _AFTER)


def run(statement: Executable, params: Mapping[str, Any] | None = None, *,
        session: Session | None = None) -> Rows:
    """Run a SELECT built once, at import, on the session's connection (the request's
    session by default), in its transaction: it sees what the request wrote before.

    For the queries of a page that renders on every request (a homepage window with the
    portlet cache off). Building a ``select()`` and executing it through the ORM costs about
    ten times what SQLite spends on an indexed query (the clause, its cache key and the ORM's
    loading layer are built again on every call). Even a prebuilt Core statement paid 15–25 µs
    a call in ``Connection.execute`` (cache lookup, parameter construction, expanding ``IN``
    lists, result metadata, ``Row`` objects), as much as SQLite spent on most of these
    queries. So the statement is compiled once per dialect and per length of each ``IN``
    list, and its SQL runs on the connection's DB-API cursor through SQLAlchemy's own
    ``Connection._cursor_execute``: cursor-execute listeners, echo and SQLAlchemy's exception
    wrapping work as from ``Connection.execute``, and the column types' bind and result
    processors are SQLAlchemy's.

    Select Core columns (``Model.__table__.c``), not ORM attributes. Rows come back as named
    tuples (attribute access by column label, unpacking, ``_fields``, ``_asdict()``), all of
    them fetched at once: window queries are limited. A statement the fast path does not
    reproduce exactly (``literal_execute`` or callable parameters, escaped parameter names, a
    numeric paramstyle, DML) goes through ``Connection.execute``.
    """
    conn = (session or db_session()).connection()
    return _plan(statement, conn.dialect).execute(conn, params or {})


# --- the result --------------------------------------------------------------------------


class Rows:
    """All rows of a prebuilt query, fetched at once (window queries are limited): the part of
    SQLAlchemy's ``Result`` interface that the portal's queries use."""

    __slots__ = ("_rows",)

    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def all(self) -> list[Any]:
        return self._rows

    def first(self) -> Any | None:
        return self._rows[0] if self._rows else None

    def one_or_none(self) -> Any | None:
        if len(self._rows) > 1:
            raise MultipleResultsFound("Multiple rows were found when one or none was required")
        return self.first()

    def one(self) -> Any:
        if not self._rows:
            raise NoResultFound("No row was found when one was required")
        return self.one_or_none()

    def scalar(self) -> Any | None:
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalar_one_or_none(self) -> Any | None:
        row = self.one_or_none()
        return None if row is None else row[0]

    def scalars(self) -> Rows:
        return Rows([r[0] for r in self._rows])


# --- compiled once -------------------------------------------------------------------------


@dataclass(slots=True)
class _Shape:
    """The SQL text for one length of each ``IN`` list, and how to build its driver
    parameters: one slot per parameter (the caller's parameter, the index into its list or
    -1, the bind processor), and the parameters' names for a named paramstyle (``None``:
    positional)."""

    sql: str
    slots: tuple[tuple[str, int, Callable[[Any], Any] | None], ...]
    names: tuple[str, ...] | None

    def arguments(self, values: Mapping[str, Any]) -> list[Any] | dict[str, Any]:
        out = []
        for source, index, process in self.slots:
            try:
                value = values[source]
            except KeyError:
                raise InvalidRequestError(
                    f"A value is required for bind parameter {source!r}") from None
            if index >= 0:
                value = value[index]
            if process is not None and value is not None:
                value = process(value)
            out.append(value)
        if self.names is None:
            return out
        return dict(zip(self.names, out, strict=True))


@dataclass(slots=True)
class _Plan:
    """A statement compiled for one dialect. The result side (row type, result processors)
    is read from the cursor's description at the first execution."""

    statement: Executable
    compiled: SQLCompiler | None  # None: this statement goes through Connection.execute
    defaults: dict[str, Any] = field(default_factory=dict)
    expanding: tuple[str, ...] = ()
    shapes: dict[tuple[int, ...], _Shape] = field(default_factory=dict)
    row_type: Any = None
    processors: tuple[Callable[[Any], Any] | None, ...] | None = None
    plain: bool = False  # no column needs a result processor
    lock: threading.Lock = field(default_factory=threading.Lock)

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> Rows:
        if self.compiled is None:
            return Rows(list(conn.execute(self.statement, dict(params)).all()))
        values = {**self.defaults, **params} if self.defaults else params
        try:
            sizes = tuple(len(values[n]) for n in self.expanding)
        except KeyError as exc:
            raise InvalidRequestError(
                f"A value is required for bind parameter {exc.args[0]!r}") from None
        shape = self.shapes.get(sizes)
        if shape is None:
            shape = self._shape(sizes, values)
        arguments = shape.arguments(values)
        cursor = conn.connection.cursor()
        try:
            # SQLAlchemy's own path for a statement on a cursor: listeners, echo, the
            # dialect's do_execute, and its exception wrapping (disconnects invalidate).
            conn._cursor_execute(cursor, shape.sql, arguments)
            raw = cursor.fetchall()
            if self.processors is None:
                self._describe(conn.dialect, cursor.description)
        finally:
            cursor.close()
        make = self.row_type._make
        processors = self.processors
        if self.plain:
            return Rows([make(r) for r in raw])
        return Rows([make([v if p is None or v is None else p(v)
                           for p, v in zip(processors, r, strict=True)])  # type: ignore[arg-type]
                     for r in raw])

    def _shape(self, sizes: tuple[int, ...], values: Mapping[str, Any]) -> _Shape:
        compiled = self.compiled
        assert compiled is not None
        state = compiled.construct_expanded_state(dict(values))
        origin: dict[str, tuple[str, int]] = {}
        for name, expanded in state.parameter_expansion.items():
            origin.update((e, (name, i)) for i, e in enumerate(expanded))
        processors = {**compiled._bind_processors, **state.processors}
        names = (tuple(state.positiontup or ()) if compiled.positional
                 else tuple(state.parameters))
        slots = []
        for name in names:
            source, index = origin.get(name, (name, -1))
            process = processors.get(name)
            slots.append((source, index, process if callable(process) else None))
        shape = _Shape(state.statement, tuple(slots), None if compiled.positional else names)
        with self.lock:
            self.shapes[sizes] = shape
        return shape

    def _describe(self, dialect: Dialect, description: Any) -> None:
        compiled = self.compiled
        assert compiled is not None
        columns = compiled._result_columns
        if description is None or len(columns) != len(description):
            raise RuntimeError("run(): the statement's columns do not match the cursor's")
        processors = tuple(
            entry.type._cached_result_processor(dialect, desc[1])
            for entry, desc in zip(columns, description, strict=True))
        with self.lock:
            self.row_type = namedtuple(  # type: ignore[misc]
                "Row", [str(c.keyname) for c in columns], rename=True)
            self.plain = not any(processors)
            self.processors = processors


_PLANS: dict[tuple[int, str], _Plan] = {}
_PLANS_LOCK = threading.Lock()
#: Prebuilt statements are module constants: a handful. Past this, somebody passes statements
#: built per call (which this is not for); start again rather than grow without bound.
_MAX_PLANS = 2048


def _plan(statement: Executable, dialect: Dialect) -> _Plan:
    key = (id(statement), dialect.name)
    plan = _PLANS.get(key)
    if plan is not None and plan.statement is statement:
        return plan
    plan = _Plan(statement, _compile(statement, dialect))
    if plan.compiled is not None:
        c = plan.compiled
        expanding = {b.key for b in c.post_compile_params}
        plan.expanding = tuple(n for n, b in c.binds.items() if b.key in expanding)
        plan.defaults = {n: b.effective_value for n, b in c.binds.items() if not b.required}
    with _PLANS_LOCK:
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()
        _PLANS[key] = plan
    return plan


def _compile(statement: Executable, dialect: Dialect) -> SQLCompiler | None:
    """The statement compiled for *dialect*, or None when the fast path cannot run it as
    SQLAlchemy would."""
    compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    if not isinstance(compiled, SQLCompiler) or not compiled._result_columns:
        return None
    if (compiled.literal_execute_params or compiled.escaped_bind_names
            or compiled._numeric_binds or compiled.isinsert or compiled.isupdate
            or compiled.isdelete
            or any(b.callable is not None or b.type._is_tuple_type
                   for b in compiled.binds.values())):
        return None
    return compiled
