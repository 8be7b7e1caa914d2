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

from portal.models import OutboxEvent

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


def dispatch_pending(app: Flask, limit: int = 500) -> int:
    """Deliver undelivered events; returns how many were delivered."""
    state = app.extensions["portal"]
    delivered = 0
    with state.db.engine.connect() as conn:
        ids = list(conn.scalars(
            select(OutboxEvent.id).where(OutboxEvent.dispatched_at.is_(None),
                                         OutboxEvent.attempts < MAX_ATTEMPTS)
            .order_by(OutboxEvent.id).limit(limit)))
    for event_id in ids:
        with state.db.transaction() as s:
            row = s.get(OutboxEvent, event_id, with_for_update={"skip_locked": True})
            if row is None or row.dispatched_at is not None:
                continue
            event = DomainEvent(row.id, row.type, dict(row.payload), row.created_at)
            errors: list[str] = []

            def on_error(plugin: str, exc: Exception, errors: list[str] = errors,
                         event: DomainEvent = event) -> None:
                log.error("plugin %s failed on event %s #%s: %s", plugin, event.type,
                          event.id, exc, exc_info=exc)
                errors.append(f"{plugin}: {exc}")

            state.plugins.call_safely("portal_handle_event", on_error, event=event)
            row.attempts += 1
            if errors:
                row.last_error = "; ".join(errors)[:500]
            else:
                row.dispatched_at = datetime.now()
                delivered += 1
    return delivered
