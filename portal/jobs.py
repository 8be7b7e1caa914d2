"""Periodic jobs of plugins (deadline escalation, reminders, recomputations), run by the worker.

A plugin returns ``PeriodicJob`` objects from ``portal_periodic_jobs``; whatever runs the
outbox runs them too — ``portal worker`` in production, the outbox thread of ``portal serve``
in the embedded mode — so the demo's deadlines escalate without cron. With several workers a
job must still run once per interval: with Redis, the first worker to set the job's key for
the interval (``SET NX EX``) runs it; without Redis there is one process, and its memory is
enough. A job that raises is logged and tried again at its next turn; it never stops the
worker. ``beat_schedule`` gives the same jobs as Celery beat entries.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    """*run* is called every *every_seconds* inside an app context, with a database session
    of its own that is committed after it returns (rolled back if it raises); domain events it
    emits are dispatched right after. *name* is unique across plugins (``collab.tick``)."""

    name: str
    every_seconds: float
    run: Callable[[], Any]
    description: str = ""


def periodic_jobs(app: Flask) -> list[PeriodicJob]:
    """Every plugin's jobs; a plugin that fails to list them is logged and left out."""
    state = app.extensions["portal"]

    def on_error(plugin: str, exc: Exception) -> None:
        log.error("plugin %s failed to list its periodic jobs: %s", plugin, exc, exc_info=exc)

    jobs: dict[str, PeriodicJob] = {}
    for plugin, result in state.plugins.call_safely("portal_periodic_jobs", on_error):
        for job in result:
            if not isinstance(job, PeriodicJob) or job.every_seconds <= 0:
                log.error("plugin %s returned a periodic job that is not one: %r", plugin, job)
            elif job.name in jobs:
                log.error("plugin %s: a periodic job named %s exists already", plugin, job.name)
            else:
                jobs[job.name] = job
    return list(jobs.values())


class JobClock:
    """Decides which jobs are due; one per app, shared by the threads of a process."""

    def __init__(self, app: Flask) -> None:
        url = app.extensions["portal"].settings["REDIS_URL"]
        self.redis: Any = None
        if url:
            import redis

            self.redis = redis.Redis.from_url(url, socket_timeout=5)
        self.next_at: dict[str, float] = {}
        self.lock = threading.Lock()

    def claim(self, job: PeriodicJob, now: float) -> bool:
        """Whether this process runs *job* now (and nobody else does for its interval)."""
        with self.lock:
            if self.next_at.get(job.name, 0.0) > now:
                return False
            self.next_at[job.name] = now + job.every_seconds
        if self.redis is None:
            return True
        return bool(self.redis.set(f"portal:job:{job.name}", "1", nx=True,
                                   ex=max(1, int(job.every_seconds))))


def clock(app: Flask) -> JobClock:
    existing = app.extensions.get("portal_job_clock")
    if existing is None:
        existing = app.extensions["portal_job_clock"] = JobClock(app)
    return existing


def run_due(app: Flask, now: float | None = None, *, dispatch: bool = True) -> list[str]:
    """Run the jobs whose turn it is; returns their names. Call it in an app context.

    The outbox loop passes ``dispatch=False``: it delivers the jobs' events itself, next.
    """
    moment = time.time() if now is None else now
    ran = [job for job in periodic_jobs(app) if clock(app).claim(job, moment)]
    for job in ran:
        run(app, job, dispatch=dispatch)
    return [job.name for job in ran]


def run_named(app: Flask, name: str) -> bool:
    """Run the job called *name* now, whatever the clock says (Celery beat decided); ``False``
    when no plugin has such a job (any more)."""
    for job in periodic_jobs(app):
        if job.name == name:
            return run(app, job)
    log.error("no periodic job named %s", name)
    return False


def run(app: Flask, job: PeriodicJob, *, dispatch: bool = True) -> bool:
    """Run *job* in a transaction of its own, then deliver its events (unless *dispatch* is
    false); whether it succeeded."""
    from portal.events import dispatch_pending

    state = app.extensions["portal"]
    try:
        with state.db.transaction():
            job.run()
    except Exception as exc:
        log.error("periodic job %s failed: %s", job.name, exc, exc_info=exc)
        return False
    finally:
        state.db.remove()
    if not dispatch:
        return True
    try:
        dispatch_pending(app)
    except Exception as exc:  # the outbox loop will try again
        log.error("dispatching the events of job %s failed: %s", job.name, exc)
    return True


def beat_schedule(app: Flask, task: str = "portal.jobs.run_named") -> dict[str, Any]:
    """Celery beat entries, one per job, each calling a task that runs the job by name."""
    return {f"job-{job.name}": {"task": task, "schedule": job.every_seconds,
                                "args": (job.name,)} for job in periodic_jobs(app)}
