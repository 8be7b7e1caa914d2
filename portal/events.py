"""Domain events through an outbox: written with the change, dispatched after the commit.

``emit`` adds the event to the caller's session, so the event exists if and only if the change
does. ``dispatch_pending`` hands undelivered events to every ``portal_handle_event``
implementation; in the embedded mode it runs inline right after the request that emitted
events, with a background worker the same function is its loop body.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask, g
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.bulk import insert_rows
from portal.models import OutboxDelivery, OutboxEvent

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class DomainEvent:
    id: int
    type: str
    payload: dict[str, Any]
    created_at: datetime


def emit(session: Session, type: str, **payload: Any) -> OutboxEvent:
    event = OutboxEvent(type=type, payload=payload)
    session.add(event)
    # Outside an app context (sync worker) there is no request to dispatch after: the caller
    # dispatches itself.
    with contextlib.suppress(RuntimeError):
        g.portal_events_emitted = True
    return event


def emit_many(session: Session, events: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """``emit`` for many events at once: one bulk ``INSERT`` in the caller's transaction.

    For writers that raise thousands of events per transaction (a sync batch): an ORM object
    per event costs more to create, track and flush than the rest of the change. Nothing is
    returned, as the ids only exist once the statement ran; the guarantees are ``emit``'s — the
    events exist if and only if the caller's transaction commits.
    """
    if not events:
        return
    insert_rows(session, OutboxEvent.__table__,  # type: ignore[arg-type]
                [{"type": type, "payload": payload, "attempts": 0} for type, payload in events])
    with contextlib.suppress(RuntimeError):
        g.portal_events_emitted = True


def dispatch_pending(app: Flask, limit: int = 500, batch: int = 100) -> int:
    """Deliver undelivered events; returns how many are now fully delivered.

    Events are locked (``SKIP LOCKED`` on PostgreSQL, so several workers share the work) and
    handled *batch* to a transaction. Each plugin gets the whole batch in one savepoint: the
    common case — every handler succeeds — costs one savepoint per plugin and batch, and
    nothing else is written but the events' ``dispatched_at``. When a plugin raises, its
    savepoint is rolled back and it is run again event by event, each in a savepoint of its
    own, so that only the events it really fails on stay pending; for those, the plugins that
    did succeed get a delivery record, and a retry runs only the plugin that failed. A failed
    commit leaves the whole batch pending.
    """
    state = app.extensions["portal"]
    with state.db.engine.connect() as conn:
        ids = list(conn.scalars(
            select(OutboxEvent.id).where(OutboxEvent.dispatched_at.is_(None),
                                         OutboxEvent.attempts < MAX_ATTEMPTS)
            .order_by(OutboxEvent.id).limit(limit)))
    handlers = _handlers(state.plugins.pm)
    size = max(batch, 1)
    delivered = 0
    for start in range(0, len(ids), size):
        chunk = ids[start:start + size]
        with state.db.transaction() as s:
            t = OutboxEvent.__table__.c  # plain columns: no ORM loading per event
            events = [DomainEvent(r.id, r.type, dict(r.payload), r.created_at)
                      for r in s.execute(select(t.id, t.type, t.payload, t.created_at).where(
                          t.id.in_(chunk), t.dispatched_at.is_(None))
                          .order_by(t.id).with_for_update(skip_locked=True))]
            if events:
                delivered += _dispatch_batch(s, events, handlers)
    return delivered


Handler = tuple[str, Callable[[list[DomainEvent]], None]]


def _handlers(pm: Any) -> list[Handler]:
    """Every plugin's handler as a function of a list of events, in hook order.

    ``portal_handle_events`` implementations take the list as it is; ``portal_handle_event``
    implementations are called once per event of it.
    """
    out: list[Handler] = []
    for impl in pm.hook.portal_handle_events.get_hookimpls():
        out.append((impl.plugin_name, _many(impl.function)))
    for impl in pm.hook.portal_handle_event.get_hookimpls():
        out.append((impl.plugin_name, _each(impl.function)))
    return out


def _many(function: Callable[..., Any]) -> Callable[[list[DomainEvent]], None]:
    return lambda events: function(events=events)


def _each(function: Callable[..., Any]) -> Callable[[list[DomainEvent]], None]:
    def handle(events: list[DomainEvent]) -> None:
        for event in events:
            function(event=event)
    return handle


def _dispatch_batch(s: Session, events: Sequence[DomainEvent], handlers: list[Handler]) -> int:
    """Run every handler over the locked *events*; mark them (one ``UPDATE`` for all that
    succeeded, as plain statements rather than ORM objects) and return how many did."""
    done: dict[int, set[str]] = {}
    for event_id, plugin in s.execute(select(OutboxDelivery.event_id, OutboxDelivery.plugin)
                                      .where(OutboxDelivery.event_id.in_([e.id for e in events]))):
        done.setdefault(event_id, set()).add(plugin)
    succeeded: dict[int, list[str]] = {}
    errors: dict[int, list[str]] = {}
    for plugin, handle in handlers:
        todo = [e for e in events if plugin not in done.get(e.id, ())]
        if not todo:
            continue
        failed = _run(s, plugin, handle, todo)
        for event in todo:
            if event.id in failed:
                errors.setdefault(event.id, []).append(f"{plugin}: {failed[event.id]}")
            else:
                succeeded.setdefault(event.id, []).append(plugin)
    plain = {"synchronize_session": False}  # no ORM objects of these events in the session
    ok = [e.id for e in events if e.id not in errors]
    if ok:
        s.execute(update(OutboxEvent).where(OutboxEvent.id.in_(ok)).values(
            attempts=OutboxEvent.attempts + 1, dispatched_at=datetime.now(), last_error=None),
            execution_options=plain)
    for event_id, messages in errors.items():
        s.execute(update(OutboxEvent).where(OutboxEvent.id == event_id).values(
            attempts=OutboxEvent.attempts + 1, last_error="; ".join(messages)[:500]),
            execution_options=plain)
        s.add_all(OutboxDelivery(event_id=event_id, plugin=p)
                  for p in succeeded.get(event_id, ()))
    return len(ok)


def _run(s: Session, plugin: str, handle: Callable[[list[DomainEvent]], None],
         events: list[DomainEvent]) -> dict[int, Exception]:
    """Run *handle* over *events*; the events it failed on, with the error."""
    try:
        with s.begin_nested():
            handle(events)
        return {}
    except Exception as exc:
        if len(events) == 1:
            log.error("plugin %s failed on event %s #%s: %s", plugin, events[0].type,
                      events[0].id, exc, exc_info=exc)
            return {events[0].id: exc}
    failed: dict[int, Exception] = {}
    for event in events:  # find the culprits; the others are handled after all
        failed.update(_run(s, plugin, handle, [event]))
    return failed
