"""Celery in production: a real worker with beat delivers what no request dispatched."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from flask import Flask
from sqlalchemy import func, select

from portal.celery_app import make_celery
from portal.notify import Notification, notify
from portlets.notices.models import Notice
from tests.conftest import REDIS_URL, make_app, seed_org


def test_the_beat_schedule_has_the_outbox_and_every_periodic_job(tmp_path: Path) -> None:
    app = make_app(f"sqlite:///{tmp_path}/p.db", REDIS_URL=REDIS_URL)
    celery = make_celery(app)
    schedule = celery.conf.beat_schedule
    assert schedule["outbox"]["task"] == "portal.outbox.dispatch"
    assert schedule["job-collab.tick"] == {"task": "portal.jobs.run_named", "schedule": 300.0,
                                           "args": ("collab.tick",)}
    assert {"portal.outbox.dispatch", "portal.jobs.run_named"} <= set(celery.tasks)


def test_without_a_broker_celery_says_what_is_missing(tmp_path: Path) -> None:
    app = make_app(f"sqlite:///{tmp_path}/p.db")
    with pytest.raises(RuntimeError, match="PORTAL_REDIS_URL"):
        make_celery(app)


def test_a_celery_worker_delivers_an_event_written_outside_a_request(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    app: Flask = make_app(f"sqlite:///{db}", REDIS_URL=REDIS_URL)
    org = seed_org(app)
    with app.app_context():  # as a sync run or a command would: committed, not dispatched
        s = app.extensions["portal"].db.session()
        notify(s, Notification(kind="customer.license_changed", title="许可证变更：Celery 测试",
                               recipients=(org.people["zg"],)))
        s.commit()
    redis.Redis.from_url(REDIS_URL).delete("portal")  # no queued task of an earlier run
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(PORTAL_DATABASE_URL=f"sqlite:///{db}", PORTAL_REDIS_URL=REDIS_URL,
               PORTAL_SECRET_KEY="test-secret")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal.celery_app", "worker", "--beat",
         "--pool", "solo", "--loglevel", "INFO", "-s", str(tmp_path / "beat-schedule")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        delivered = 0
        deadline = time.monotonic() + 60  # the worker's start-up, then one beat (a second)
        while time.monotonic() < deadline and worker.poll() is None and not delivered:
            time.sleep(0.5)
            with app.app_context():
                delivered = int(app.extensions["portal"].db.session().scalar(
                    select(func.count(Notice.id)).where(Notice.event_id.is_not(None))) or 0)
                app.extensions["portal"].db.remove()
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0]
    assert delivered == 1, output[-3000:]
    assert "portal.outbox.dispatch" in output
