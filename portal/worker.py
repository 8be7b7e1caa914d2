"""Delivering the outbox from outside requests: ``portal worker``, or a thread of the embedded
web process.

Requests deliver the events they emit themselves, right after they commit; events written by
another process (a sync worker, the command line, a web node that died before dispatching)
wait for this loop. It looks at the outbox every ``OUTBOX_POLL_INTERVAL`` seconds when idle and
at once again after work, so such events reach people within a fraction of a second. Several
workers may run: ``dispatch_pending`` locks each event (``SKIP LOCKED``). The same loop runs
the plugins' periodic jobs when they are due (``portal.jobs``).
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

from portal import jobs
from portal.events import dispatch_pending

log = logging.getLogger(__name__)
MAX_BACKOFF = 30.0


BATCH = 100


def run(app: Flask, stop: threading.Event, *, interval: float | None = None,
        once: bool = False, batch: int = BATCH) -> int:
    """Dispatch until *stop* is set (or one round with *once*); returns events delivered.

    Events are delivered *batch* to a transaction, which is what lets one worker keep up with
    a sync's flow (one commit per batch instead of per event). A failing round (database down)
    is logged and retried with a growing pause, so the worker outlives an outage instead of
    exiting into a restart loop.
    """
    state = app.extensions["portal"]
    idle = float(interval if interval is not None else state.settings["OUTBOX_POLL_INTERVAL"])
    pause = idle
    total = 0
    while not stop.is_set():
        with app.app_context():
            try:
                jobs.run_due(app, dispatch=False)  # their events go out with the others
                done = dispatch_pending(app, batch=batch)
            except Exception as exc:
                log.error("outbox worker: dispatch failed (%s); retrying in %.1fs", exc, pause)
                pause = min(max(pause, 0.5) * 2, MAX_BACKOFF)
                if once:
                    raise
                stop.wait(pause)
                continue
            finally:
                state.db.remove()
        pause = idle
        total += done
        if once:
            break
        if not done:
            stop.wait(idle)
    return total


def start_thread(app: Flask) -> threading.Event:
    """The embedded mode's worker: a daemon thread of the web process; set the returned event
    to stop it."""
    stop = threading.Event()
    threading.Thread(target=run, args=(app, stop), name="portal-outbox", daemon=True).start()
    return stop
