"""The outbox: events exist only with their change, handlers run once each, failures retry."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal.events import dispatch_pending, emit
from portal.models import AuditEntry, OutboxEvent
from tests.conftest import make_app
from tests.plugins.event_recorder import FAIL, BatchRecorder, Flaky, Recorder


@pytest.fixture(params=["sqlite", "postgresql"])
def events_app(request: pytest.FixtureRequest, tmp_path) -> Flask:  # type: ignore[no-untyped-def]
    url = (f"sqlite:///{tmp_path}/p.db" if request.param == "sqlite"
           else request.getfixturevalue("pg_url"))
    app = make_app(url, PLUGINS=[("recorder", Recorder()), ("flaky", Flaky()),
                                 ("batch", BatchRecorder())])
    FAIL["times"] = 0
    BatchRecorder.calls.clear()
    yield app
    app.extensions["portal"].db.engine.dispose()


def _handled(app: Flask, actor: str) -> int:
    s = app.extensions["portal"].db.session()
    return int(s.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.actor == actor)))


def test_rolled_back_change_has_no_event(events_app: Flask) -> None:
    with events_app.app_context():
        s = events_app.extensions["portal"].db.session()
        emit(s, "customer.changed", customer_id=1)
        s.rollback()
        assert s.scalar(select(func.count(OutboxEvent.id))) == 0


def test_each_handler_runs_once_even_when_another_fails(events_app: Flask) -> None:
    FAIL["times"] = 1
    with events_app.app_context():
        s = events_app.extensions["portal"].db.session()
        emit(s, "customer.changed", customer_id=1)
        s.commit()
        assert dispatch_pending(events_app) == 0  # flaky failed: not fully delivered
        event = s.scalars(select(OutboxEvent)).one()
        s.refresh(event)
        assert event.dispatched_at is None and "flaky" in (event.last_error or "")
        assert _handled(events_app, "recorder") == 1
        assert _handled(events_app, "flaky") == 0  # its writes were rolled back with it
        assert dispatch_pending(events_app) == 1  # retry: only flaky runs again
        assert dispatch_pending(events_app) == 0  # nothing left; replay does nothing
        assert _handled(events_app, "recorder") == 1
        assert _handled(events_app, "flaky") == 1


def test_an_event_a_handler_fails_on_stays_pending_alone(events_app: Flask) -> None:
    """The batch is handled in one savepoint per plugin; when one event of it fails, the
    plugin is run again event by event, and only that event waits for a retry."""
    with events_app.app_context():
        s = events_app.extensions["portal"].db.session()
        for n in range(5):
            emit(s, "customer.changed", customer_id=n, poison=n == 2)
        s.commit()
        assert dispatch_pending(events_app) == 4
        pending = s.scalars(select(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None))).all()
        assert [e.payload["customer_id"] for e in pending] == [2]
        assert "flaky" in (pending[0].last_error or "")
        # Each plugin's work is there once per event: nothing of the rolled-back batch stayed.
        assert (_handled(events_app, "recorder"), _handled(events_app, "flaky"),
                _handled(events_app, "batch")) == (5, 4, 5)
        assert BatchRecorder.calls == [5]  # the batch plugin got them all in one call
        assert dispatch_pending(events_app) == 0  # the retry runs flaky only, and it fails again
        assert (_handled(events_app, "recorder"), _handled(events_app, "batch")) == (5, 5)
        assert BatchRecorder.calls == [5]
