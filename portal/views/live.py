"""The live-update endpoints of an open page: ``/live/stream`` (Server-Sent Events) and
``/live/poll`` (JSON), the fallback when EventSource fails or a proxy blocks streams.

Both read the same log (``portal.live``), so a page switches between them without losing or
repeating a message: the cursor is the last message id it saw.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from flask_babel import gettext as _

from portal.live import (
    CLOSED,
    RESYNC,
    Broker,
    Entry,
    Subscription,
    TooManyStreams,
    broker_of,
    parse_id,
    replay_messages,
)

bp = Blueprint("live", __name__, url_prefix="/live")
RETRY_MS = 3000  # how long EventSource waits before it reconnects


def _refuse(status: int, message: str, retry_after: int | None = None) -> Response:
    resp = jsonify(error=message, status=status)
    resp.status_code = status
    resp.headers["Cache-Control"] = "no-store"
    if retry_after is not None:
        resp.headers["Retry-After"] = str(retry_after)
    return resp


def _checked(cursor: str | None) -> str | Response | None:
    """The reader's cursor when it is a message id; a 400 response when it is not."""
    if not cursor:
        return None
    try:
        parse_id(cursor)
    except ValueError:
        return _refuse(400, _("The last message id is not valid."))
    return cursor


def _gate() -> Response | None:
    settings = current_app.extensions["portal"].settings
    if not settings["LIVE_ENABLED"]:
        return _refuse(404, _("Live updates are turned off on this portal."))
    if g.get("principal") is None:
        return _refuse(401, _("Please sign in."))
    return None


def _sse(event: str | None, data: dict[str, Any], event_id: str | None = None) -> str:
    lines = []
    if event_id:
        lines.append(f"id: {event_id}")
    if event:
        lines.append(f"event: {event}")
    lines.append("data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


def _message(entry: Entry) -> str:
    return _sse(None, {"id": entry.id, **entry.data}, entry.id)


@bp.get("/stream")
def stream() -> Any:
    """The signed-in person's messages as they come, after those missed since Last-Event-ID.

    EventSource sends ``Last-Event-ID`` when it reconnects by itself; a page that opens a new
    stream passes its cursor as ``?last_id=``. Limits (per person, per process) answer 429 and
    503 with ``Retry-After``: the page then polls instead.
    """
    refused = _gate()
    if refused is not None:
        return refused
    cursor = _checked(request.headers.get("Last-Event-ID") or request.args.get("last_id"))
    if isinstance(cursor, Response):
        return cursor
    settings = current_app.extensions["portal"].settings
    broker = broker_of(current_app)
    person_id = g.principal.person_id
    try:
        sub = broker.subscribe(person_id)
    except TooManyStreams as exc:
        if exc.per_person:
            return _refuse(429, _("Too many open windows receive live updates."), 30)
        return _refuse(503, _("Live updates are busy; this page checks for news instead."), 30)
    try:
        # Subscribed first, then the log: a message published in between comes twice at
        # most (the stream skips ids it has sent), never not at all.
        replay = broker.replay(person_id, cursor) if cursor else None
        start = replay.last_id if replay else broker.last_id()
    except Exception:
        broker.unsubscribe(sub)
        current_app.logger.exception("live stream of person %s not opened", person_id)
        return _refuse(503, _("Live updates are unavailable; this page checks for news instead."),
                       30)
    body = _events(broker, sub, replay_entries=replay.entries if replay else [],
                   complete=replay.complete if replay else True, start=start,
                   resumed_from=cursor, heartbeat=float(settings["LIVE_HEARTBEAT"]),
                   lifetime=float(settings["LIVE_STREAM_LIFETIME"]))
    return Response(body, mimetype="text/event-stream", headers={
        "Cache-Control": "no-cache, no-store",
        "X-Accel-Buffering": "no",  # nginx: pass each event on at once
    })


def _events(broker: Broker, sub: Subscription, *, replay_entries: list[Entry], complete: bool,
            start: str, resumed_from: str | None, heartbeat: float,
            lifetime: float) -> Iterator[str]:
    """The stream's body. It ends after *lifetime* (the browser reconnects and resumes, and
    the session is checked again) or when the process shuts down; a closed connection ends it
    at the next heartbeat at the latest."""
    sent = parse_id(resumed_from) if resumed_from else None
    try:
        yield f"retry: {RETRY_MS}\n\n"
        yield _sse("hello", {"last_id": start, "resumed": resumed_from is not None},
                   None if replay_entries else start)
        if not complete:
            yield _sse("resync", {})
        for entry in replay_entries:
            sent = parse_id(entry.id)
            yield _message(entry)
        deadline = time.monotonic() + lifetime
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            item = sub.get(timeout=min(heartbeat, remaining))
            if item is None:
                yield ": keep-alive\n\n"
            elif item is CLOSED:
                return
            elif item is RESYNC:
                yield _sse("resync", {})
            elif sent is None or parse_id(item.id) > sent:
                sent = parse_id(item.id)
                yield _message(item)
    finally:
        broker.unsubscribe(sub)


@bp.get("/poll")
def poll() -> Any:
    """Messages after ``?after=`` as JSON; without it, only the cursor to start from."""
    refused = _gate()
    if refused is not None:
        return refused
    cursor = _checked(request.args.get("after"))
    if isinstance(cursor, Response):
        return cursor
    broker = broker_of(current_app)
    try:
        if cursor is None:
            body: dict[str, Any] = {"last_id": broker.last_id(), "messages": [],
                                    "complete": True}
        else:
            replay = broker.replay(g.principal.person_id, cursor)
            body = {"last_id": replay.last_id, "messages": list(replay_messages(replay)),
                    "complete": replay.complete}
    except Exception:
        current_app.logger.exception("live poll failed")
        return _refuse(503, _("Live updates are unavailable right now."), 30)
    resp = jsonify(body)
    resp.headers["Cache-Control"] = "no-store"
    return resp
