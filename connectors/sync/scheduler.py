"""Per-source schedules. The same ``run_source`` is triggered by a thread in the embedded demo
(``SYNC_SCHEDULER=true``) or, in production, by Celery beat: ``beat_schedule(app)`` gives the
entries to put in ``celery.conf.beat_schedule``, each calling a task that runs
``SyncEngine(app).run_source(name)``. (Celery itself is not a dependency yet; this is the seam
it plugs into.)"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from flask import Flask

from connectors.sync.engine import SyncEngine, connectors

log = logging.getLogger(__name__)


def schedules(app: Flask) -> dict[str, float]:
    """Seconds between runs, per source, from each mapping file's ``schedule_seconds``."""
    return {name: conn.spec.schedule_seconds for name, conn in connectors(app).items()}


def beat_schedule(app: Flask, task: str = "connectors.sync.run_source") -> dict[str, Any]:
    """Celery beat entries: one per source, at its own interval."""
    return {f"sync-{name}": {"task": task, "schedule": seconds, "args": (name,)}
            for name, seconds in schedules(app).items()}


class ThreadScheduler:
    """Runs each source when it is due, one at a time, on a daemon thread."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="sync-scheduler", daemon=True)

    def start(self) -> ThreadScheduler:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)

    def _loop(self) -> None:
        with self.app.app_context():
            due = dict.fromkeys(schedules(self.app), 0.0)
            every = schedules(self.app)
            engine = SyncEngine(self.app)
            reminded = 0.0
            while not self.stopped.is_set():
                now = time.monotonic()
                for name, at in due.items():
                    if at <= now:
                        try:
                            engine.run_source(name)
                        except Exception:
                            log.exception("scheduled sync of %s failed", name)
                        due[name] = time.monotonic() + every[name]
                if time.monotonic() >= reminded + 3600:
                    try:
                        engine.remind_expiring()
                    except Exception:
                        log.exception("licence expiry reminders failed")
                    reminded = time.monotonic()
                self.stopped.wait(max(0.1, min(due.values()) - time.monotonic()))
