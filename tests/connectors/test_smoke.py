from __future__ import annotations

import random

from sqlalchemy import func, select

from connectors.models import Purchase
from connectors.sim.systems import ChangeStream


def test_first_sync_takes_seeded_orders_and_a_stream(sqlite_world):
    w = sqlite_world
    results = w.sync()
    assert all(r.ok for r in results), [r.error for r in results]
    with w.app.app_context():
        s = w.app.extensions["portal"].db.session()
        assert s.scalar(select(func.count()).select_from(Purchase)) > 0
    list(ChangeStream(w.systems, random.Random(1)).run(200))
    results = w.sync()
    print(results)
    assert all(r.ok for r in results)
