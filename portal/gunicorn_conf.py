"""gunicorn settings of ``portal serve``: how a worker process starts and stops its live side.

Loaded with ``gunicorn -c python:portal.gunicorn_conf``; everything else comes from the command
line. A worker that is told to stop (SIGTERM) first ends its open event streams, which would
otherwise hold it for the whole graceful timeout; browsers reconnect to another worker and
resume by Last-Event-ID. Without Redis (the embedded mode: one worker process) the worker also
runs the outbox thread, so events written by other processes reach the in-process broker.
"""

from __future__ import annotations

import signal
from typing import Any


def post_worker_init(worker: Any) -> None:
    from portal import live
    from portal import worker as outbox

    app = worker.wsgi
    if "portal" not in getattr(app, "extensions", {}):
        return  # not the portal (a wrapped or foreign app): nothing of ours to run
    if not app.extensions["portal"].settings["REDIS_URL"]:
        stop_outbox = outbox.start_thread(app)
    else:
        stop_outbox = None
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum: int, frame: Any) -> None:
        live.shutdown(app)
        if stop_outbox is not None:
            stop_outbox.set()
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGTERM, on_term)
