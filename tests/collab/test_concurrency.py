"""Optimistic locking: of two people acting on the same version one wins, the other is told
(409), and no transition happens twice. Recall racing the handler's action included."""

from __future__ import annotations

import threading

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from portal.toolkit import Principal
from portlets.collab import service
from portlets.collab.models import WorkItem, WorkStep
from tests.collab.conftest import Actor, item_id_of
from tests.conftest import seed_org


def _steps(app: Flask, item_id: int) -> list[str]:
    with app.app_context():
        s = app.extensions["portal"].db.session()
        return list(s.scalars(select(WorkStep.action).where(WorkStep.item_id == item_id)
                              .order_by(WorkStep.seq)))


def test_recall_racing_the_handler_one_wins(capp: Flask) -> None:
    org = seed_org(capp)
    zg, km = Actor(capp, "zg"), Actor(capp, "km")
    item_id = item_id_of(zg.create(target=f"person:{org.people['km']}"))
    version = zg.version(item_id)
    # Both saw the same version; the handler acts first, the sender's recall comes too late.
    assert km.act(item_id, "accept", version=version).status_code == 302
    late = zg.act(item_id, "recall", version=version)
    assert late.status_code == 409
    assert "changed this work item" in late.get_data(as_text=True)
    # With a fresh version the recall is simply no longer possible: the handler has acted.
    assert zg.act(item_id, "recall").status_code == 409
    assert _steps(capp, item_id) == ["submit", "accept"]


def test_recall_before_the_handler_acts(capp: Flask) -> None:
    org = seed_org(capp)
    zg, km = Actor(capp, "zg"), Actor(capp, "km")
    item_id = item_id_of(zg.create(target=f"person:{org.people['km']}"))
    version = zg.version(item_id)
    assert zg.act(item_id, "recall", version=version).status_code == 302
    assert km.act(item_id, "accept", version=version).status_code == 409
    assert km.client.get(f"/collab/items/{item_id}").status_code == 200  # still sees it
    assert km.act(item_id, "accept").status_code == 409  # but holds it no longer
    assert _steps(capp, item_id) == ["submit", "recall"]
    # The originator edits and resubmits the recalled item.
    assert zg.act(item_id, "submit", target=f"person:{org.people['sh']}").status_code == 302
    assert _steps(capp, item_id) == ["submit", "recall", "submit"]


@pytest.mark.postgres
def test_simultaneous_sessions_on_postgresql(pg_app: Flask) -> None:
    """Two transactions read version N and both try to write: the database lets one through."""
    org = seed_org(pg_app)
    zg = Actor(pg_app, "zg")
    item_id = item_id_of(zg.create(target=f"unit:{org.unit_a}"))
    db = pg_app.extensions["portal"].db
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def claim(username: str, person_id: int) -> None:
        with pg_app.test_request_context():
            s = db.session()
            me = Principal(person_id, username, username, org.unit_a)
            item = s.get(WorkItem, item_id)
            assert item is not None
            barrier.wait(timeout=10)  # both have read the same version
            try:
                service.accept(s, me, item)
                s.commit()
                outcomes.append("won")
            except StaleDataError:
                s.rollback()
                outcomes.append("lost")
            finally:
                db.remove()

    threads = [threading.Thread(target=claim, args=(u, org.people[u])) for u in ("km", "sh")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["lost", "won"]
    with pg_app.app_context():
        s = db.session()
        assert s.scalar(select(func.count()).select_from(WorkStep).where(
            WorkStep.item_id == item_id, WorkStep.action == "accept")) == 1
        item = s.get(WorkItem, item_id)
        assert item is not None and item.state == "handling"
