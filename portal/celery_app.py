"""Celery for production: the worker loop's work as tasks, driven by Celery beat.

    PORTAL_REDIS_URL=redis://... celery -A portal.celery_app worker --beat --loglevel=info

Two tasks, the same functions ``portal worker`` and the embedded outbox thread call:
``portal.outbox.dispatch`` delivers pending domain events (events written outside a request:
sync runs, the command line, a web node that died before dispatching), on a beat every
``OUTBOX_POLL_INTERVAL`` (at least a second); ``portal.jobs.run_named`` runs one of the
plugins' periodic jobs (``portal_periodic_jobs``), on a beat at each job's own interval.
Requests still deliver the events they emit themselves, right after their commit: that path
is the fastest, and the beat only sweeps up what it missed. Use either ``portal worker`` or
Celery, not both; several Celery workers may run (events are locked ``SKIP LOCKED``).
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from flask import Flask

from portal import jobs
from portal.events import dispatch_pending


def make_celery(flask_app: Flask | None = None) -> Celery:
    """A Celery app bound to *flask_app* (by default one made from the environment)."""
    if flask_app is None:
        from portal.app import create_app

        flask_app = create_app()
    portal_app: Flask = flask_app
    settings = portal_app.extensions["portal"].settings
    broker = settings["CELERY_BROKER_URL"] or settings["REDIS_URL"]
    if not broker:
        raise RuntimeError("Celery needs a broker: set PORTAL_CELERY_BROKER_URL or "
                           "PORTAL_REDIS_URL")
    celery = Celery("portal", broker=broker, set_as_current=False)
    celery.conf.update(task_ignore_result=True, broker_connection_retry_on_startup=True,
                       worker_hijack_root_logger=False, timezone="Asia/Shanghai",
                       task_default_queue="portal")

    @celery.task(name="portal.outbox.dispatch")
    def dispatch() -> int:
        with portal_app.app_context():
            total = 0
            while done := dispatch_pending(portal_app):
                total += done
            return total

    @celery.task(name="portal.jobs.run_named")
    def run_named(name: str) -> bool:
        with portal_app.app_context():
            return jobs.run_named(portal_app, name)

    with portal_app.app_context():
        schedule = jobs.beat_schedule(portal_app)
    schedule["outbox"] = {"task": "portal.outbox.dispatch",
                          "schedule": max(1.0, float(settings["OUTBOX_POLL_INTERVAL"]))}
    celery.conf.beat_schedule = schedule
    return celery


def __getattr__(name: str) -> Any:
    # ``celery -A portal.celery_app`` looks for ``app``: made on first use, not on import, so
    # importing this module (tests, type checks) builds nothing.
    if name in ("app", "celery"):
        globals()[name] = made = make_celery()
        return made
    raise AttributeError(name)
