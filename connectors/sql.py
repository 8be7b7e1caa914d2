"""The generic SQL connector: reads a source database incrementally with SQLAlchemy.

Each stream names a table (a change table, or a table with a row version) and its position
column; rows are read by ``position > watermark ORDER BY position LIMIT n``, which works on
any database with an index on that column.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import MetaData, Table, column, func, select, table
from sqlalchemy.engine import Engine, create_engine
from sqlalchemy.exc import DBAPIError, NoSuchTableError

from connectors.base import Row, SourceUnavailable
from connectors.mapping import SourceSpec, StreamSpec


class SqlConnector:
    def __init__(self, spec: SourceSpec, engine_factory: Callable[[str], Engine] | None = None
                 ) -> None:
        self.spec = spec
        self._factory = engine_factory or _engine
        self._engine: Engine | None = None
        self._tables: dict[str, Table] = {}

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = self._factory(self.spec.url)
        return self._engine

    def _table(self, name: str) -> Table:
        if name not in self._tables:
            try:
                self._tables[name] = Table(name, MetaData(), autoload_with=self.engine)
            except NoSuchTableError:
                raise SourceUnavailable(f"{self.name}: no table {name}") from None
            except DBAPIError as exc:
                raise SourceUnavailable(f"{self.name}: {_short(exc)}") from None
        return self._tables[name]

    def fetch(self, stream: StreamSpec, after: int, limit: int) -> Sequence[Row]:
        t = self._table(stream.resource)
        pos = t.c[stream.position]
        query = select(t).where(pos > after).order_by(pos).limit(limit)
        try:
            with self.engine.connect() as conn:
                return [dict(r._mapping) for r in conn.execute(query)]
        except DBAPIError as exc:
            raise SourceUnavailable(f"{self.name}: {_short(exc)}") from None

    def head(self, stream: StreamSpec) -> int:
        t = table(stream.resource, column(stream.position))
        try:
            with self.engine.connect() as conn:
                return int(conn.scalar(select(func.max(t.c[stream.position]))) or 0)
        except DBAPIError as exc:
            raise SourceUnavailable(f"{self.name}: {_short(exc)}") from None

    def current(self, stream: StreamSpec, keys: Sequence[str]) -> dict[str, Row]:
        if not stream.current or not stream.current_key or not keys:
            return {}
        t = self._table(stream.current)
        key = t.c[stream.current_key]
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(select(t).where(key.in_(list(keys))))
                return {str(r._mapping[stream.current_key]): dict(r._mapping) for r in rows}
        except DBAPIError as exc:
            raise SourceUnavailable(f"{self.name}: {_short(exc)}") from None

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def _engine(url: str) -> Engine:
    kwargs: dict[str, object] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
        kwargs["connect_args"] = {"connect_timeout": 5}
    return create_engine(url, **kwargs)


def _short(exc: BaseException) -> str:
    return str(getattr(exc, "orig", exc)).strip().splitlines()[0][:300]
