"""Periodic jobs: run when due, once per interval across workers, isolated when they fail."""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

import pytest
import redis
from flask import Flask
from sqlalchemy import func, select, text

from portal import jobs, worker
from portal.models import AuditEntry, OutboxEvent
from portal.toolkit import PeriodicJob, db_session, emit, hookimpl
from tests.conftest import REDIS_URL, make_app


def _record(actor: str) -> None:
    db_session().execute(text("INSERT INTO audit_log (actor, action, target, address, detail)"
                              " VALUES (:a, 'job', '', '', '{}')"), {"a": actor})


class Jobs:
    """Three jobs: one that writes and emits, one that raises, one every hour."""

    def __init__(self, prefix: str = "t") -> None:
        self.prefix = prefix

    @hookimpl
    def portal_periodic_jobs(self) -> list[Any]:
        def write() -> None:
            _record("writer")
            emit(db_session(), "job.ran")

        def fail() -> None:
            _record("failer")  # rolled back with the job
            raise RuntimeError("job failed")

        return [PeriodicJob(f"{self.prefix}.write", 60, write),
                PeriodicJob(f"{self.prefix}.fail", 60, fail),
                PeriodicJob(f"{self.prefix}.hourly", 3600, lambda: _record("hourly"))]


class Broken:
    @hookimpl
    def portal_periodic_jobs(self) -> list[Any]:
        twice = PeriodicJob("b.twice", 60, lambda: None)
        return ["not a job", twice, twice]


def _count(app: Flask, actor: str) -> int:
    with app.app_context():
        return int(db_session().scalar(select(func.count(AuditEntry.id)).where(
            AuditEntry.actor == actor)) or 0)


@pytest.fixture
def jobs_app(tmp_path: Any) -> Flask:
    return make_app(f"sqlite:///{tmp_path}/p.db", PLUGINS=[("jobs", Jobs()),
                                                            ("broken", Broken())])


def test_due_jobs_run_and_commit_and_their_events_are_dispatched(
        jobs_app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    with jobs_app.app_context():
        names = {j.name for j in jobs.periodic_jobs(jobs_app)}
        assert {"t.write", "t.fail", "t.hourly", "collab.tick"} <= names
        assert "not a job" in caplog.text and "exists already" in caplog.text
        ran = jobs.run_due(jobs_app, now=1000.0)
        assert {"t.write", "t.fail", "t.hourly"} <= set(ran)
        assert "periodic job t.fail failed" in caplog.text
        event = db_session().scalars(select(OutboxEvent).where(OutboxEvent.type == "job.ran")
                                     ).one()
        assert event.dispatched_at is not None
    assert (_count(jobs_app, "writer"), _count(jobs_app, "failer"),
            _count(jobs_app, "hourly")) == (1, 0, 1)

    with jobs_app.app_context():
        assert jobs.run_due(jobs_app, now=1030.0) == []  # nobody's turn yet
        assert set(jobs.run_due(jobs_app, now=1061.0)) >= {"t.write", "t.fail"}
        ran = jobs.run_due(jobs_app, now=1200.0)
        assert "t.write" in ran and "t.hourly" not in ran
    assert (_count(jobs_app, "writer"), _count(jobs_app, "hourly")) == (3, 1)


def test_with_redis_two_workers_run_a_job_once_per_interval(pg_url: str) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"  # keys of another run of this test don't interfere
    nodes = [make_app(pg_url, REDIS_URL=REDIS_URL, PLUGINS=[("jobs", Jobs(prefix))])
             for _ in range(2)]
    try:
        ran: list[str] = []
        barrier = threading.Barrier(2)

        def work(app: Flask) -> None:
            with app.app_context():
                barrier.wait()
                ran.extend(n for n in jobs.run_due(app) if n.startswith(prefix))

        threads = [threading.Thread(target=work, args=(n,)) for n in nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(ran) == sorted([f"{prefix}.write", f"{prefix}.fail", f"{prefix}.hourly"])
        assert _count(nodes[0], "writer") == 1
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        for name in ("write", "fail", "hourly"):
            client.delete(f"portal:job:{prefix}.{name}")
        for n in nodes:
            n.extensions["portal"].db.engine.dispose()


def test_the_worker_loop_runs_the_jobs(jobs_app: Flask) -> None:
    worker.run(jobs_app, threading.Event(), once=True)
    assert _count(jobs_app, "writer") == 1


def test_scheduled_syncs_are_periodic_jobs_only_when_asked(tmp_path: Any) -> None:
    off = make_app(f"sqlite:///{tmp_path}/a.db", SIM_DIR=str(tmp_path / "sim"))
    on = make_app(f"sqlite:///{tmp_path}/b.db", SIM_DIR=str(tmp_path / "sim"),
                  SYNC_SCHEDULER=True)
    with off.app_context():
        assert not [j for j in jobs.periodic_jobs(off) if j.name.startswith("sync.")]
    with on.app_context():
        names = {j.name for j in jobs.periodic_jobs(on)}
    assert {"sync.monopoly", "sync.marketing", "sync.logistics", "sync.expiring"} <= names
