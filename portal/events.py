"""Domain events through an outbox: written with the change, dispatched after the commit.

``emit`` adds the event to the caller's session, so the event exists if and only if the change
does. ``dispatch_pending`` hands undelivered events to every ``portal_handle_event``
implementation; in the embedded mode it runs inline right after the request that emitted
events, with a background worker the same function is its loop body.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask, g
from sqlalchemy import select
from sqlalchemy.orm import Session

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


def dispatch_pending(app: Flask, limit: int = 500, batch: int = 1) -> int:
    """Deliver undelivered events; returns how many are now fully delivered.

    Each event is locked (``SKIP LOCKED`` on PostgreSQL, so several workers share the work),
    each handler runs in a savepoint of its own together with its delivery record: a handler
    that raises is rolled back alone and retried later, the others are not run again.
    *batch* events share one transaction (one commit instead of *batch*): a background worker
    uses it to keep up with a flow of events; a failed commit leaves the whole batch pending.
    """
    state = app.extensions["portal"]
    with state.db.engine.connect() as conn:
        ids = list(conn.scalars(
            select(OutboxEvent.id).where(OutboxEvent.dispatched_at.is_(None),
                                         OutboxEvent.attempts < MAX_ATTEMPTS)
            .order_by(OutboxEvent.id).limit(limit)))
    impls = state.plugins.pm.hook.portal_handle_event.get_hookimpls()
    delivered = 0
    for start in range(0, len(ids), max(batch, 1)):
        chunk = ids[start:start + max(batch, 1)]
        with state.db.transaction() as s:
            rows = s.scalars(select(OutboxEvent).where(
                OutboxEvent.id.in_(chunk), OutboxEvent.dispatched_at.is_(None))
                .order_by(OutboxEvent.id).with_for_update(skip_locked=True)).all()
            done: dict[int, set[str]] = {}
            for event_id, plugin in s.execute(select(
                    OutboxDelivery.event_id, OutboxDelivery.plugin).where(
                    OutboxDelivery.event_id.in_([r.id for r in rows]))):
                done.setdefault(event_id, set()).add(plugin)
            for row in rows:
                delivered += _dispatch_one(s, row, impls, done.get(row.id, set()))
    return delivered


def _dispatch_one(s: Session, row: OutboxEvent, impls: list[Any], done: set[str]) -> int:
    event = DomainEvent(row.id, row.type, dict(row.payload), row.created_at)
    errors = []
    for impl in impls:
        if impl.plugin_name in done:
            continue
        try:
            with s.begin_nested():
                impl.function(event=event)
                s.add(OutboxDelivery(event_id=row.id, plugin=impl.plugin_name))
        except Exception as exc:
            log.error("plugin %s failed on event %s #%s: %s", impl.plugin_name,
                      event.type, event.id, exc, exc_info=exc)
            errors.append(f"{impl.plugin_name}: {exc}")
    row.attempts += 1
    if errors:
        row.last_error = "; ".join(errors)[:500]
        return 0
    row.dispatched_at = datetime.now()
    row.last_error = None
    return 1
