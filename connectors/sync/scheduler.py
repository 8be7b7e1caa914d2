"""Per-source schedules. With ``SYNC_SCHEDULER=true`` each source is a periodic job of the
portal (``sync.<source>``, plus ``sync.expiring`` hourly): the worker loop runs them — ``portal
worker``, the embedded ``portal serve``'s outbox thread, or Celery beat through
``portal.celery_app`` — once per interval across workers. ``portal sync run --loop`` runs the
same schedule in a thread of its own, for a dedicated sync process."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask

from connectors.sync.engine import SyncEngine, connectors
from portal.toolkit import PeriodicJob

log = logging.getLogger(__name__)


def schedules(app: Flask) -> dict[str, float]:
    """Seconds between runs, per source, from each mapping file's ``schedule_seconds``."""
    return {name: conn.spec.schedule_seconds for name, conn in connectors(app).items()}


def periodic_jobs(app: Flask) -> list[PeriodicJob]:
    """Each source's sync at its interval and the daily-enough expiry reminders, as jobs."""
    def sync(name: str, every: float) -> Callable[[], Any]:
        return lambda: SyncEngine(app).scheduled_run(name, every)

    jobs = [PeriodicJob(f"sync.{name}", seconds, sync(name, seconds), f"sync of {name}")
            for name, seconds in schedules(app).items()]
    jobs.append(PeriodicJob("sync.expiring", 3600.0, lambda: SyncEngine(app).remind_expiring(),
                            "licences entering their last 30 days"))
    return jobs


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
                            engine.scheduled_run(name, every[name])
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
