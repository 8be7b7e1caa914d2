"""Database engine and sessions for the app and for plugins (SQLAlchemy 2).

One engine per app; one session per thread (portlet windows render in threads), removed at the
end of each request and each render.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker

log = logging.getLogger(__name__)
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Model(DeclarativeBase):
    """Base of every table, the core's and the plugins'."""

    metadata = MetaData(naming_convention=NAMING)


def make_engine(url: str) -> Engine:
    kwargs: dict[str, Any] = {"future": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    return engine


class Database:
    """The app's engine and its thread-scoped session factory."""

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            import os

            folder = os.path.dirname(url[len("sqlite:///"):])
            if folder:
                os.makedirs(folder, exist_ok=True)
        self.url = url
        self.engine = make_engine(url)
        self.session = scoped_session(sessionmaker(self.engine, expire_on_commit=False))

    def remove(self) -> None:
        self.session.remove()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any exception."""
        s = self.session()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise

    def init_app(self, app: Flask) -> None:
        app.teardown_appcontext(lambda _exc: self.remove())


def get_db() -> Database:
    return current_app.extensions["portal"].db


def db_session() -> Session:
    """The current thread's session of the current app."""
    return get_db().session()


_AFTER_COMMIT = "portal_after_commit"


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run *callback* once *session*'s transaction has committed, in the current app's context;
    never if it rolls back.

    For what must follow the change and may not precede it: telling open pages, dropping cached
    windows that a concurrent render could otherwise fill again with the old state.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if session.get_transaction() is None:
        session.begin()  # what the next statement would do; a rollback must find it
    if not session.info.get(_AFTER_COMMIT + "_hooked"):
        session.info[_AFTER_COMMIT + "_hooked"] = True
        event.listen(session, "after_commit", _run_after_commit)
        event.listen(session, "after_soft_rollback", _forget_after_commit)
    session.info.setdefault(_AFTER_COMMIT, []).append((app, callback))


def _forget_after_commit(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:  # the whole transaction, not a savepoint
        session.info.pop(_AFTER_COMMIT, None)


def _run_after_commit(session: Session) -> None:
    for app, callback in session.info.pop(_AFTER_COMMIT, None) or []:
        try:
            if has_app_context():
                callback()
            else:  # pushing a context only when there is none: popping one removes sessions
                with app.app_context():
                    callback()
        except Exception:  # the change is committed: a failing follower must not undo it
            log.exception("after-commit callback %r failed", callback)
