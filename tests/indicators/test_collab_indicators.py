"""Known answers for the collaboration figures (open, overdue, mean hours, rating)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from flask import Flask

from portlets.collab.models import WorkItem
from portlets.indicators.recompute import recompute
from tests.indicators.conftest import DAY, seed_data
from tests.indicators.test_formulas import snap


def test_collaboration_figures(kapp: Flask) -> None:
    d = seed_data(kapp)
    p = d.org.people

    def item(holder: str, submitted: datetime, finished: datetime | None = None,
             due: datetime | None = None, score: int | None = None) -> WorkItem:
        return WorkItem(type_code="customer_service", subject="s", content="", state="handling",
                        originator_id=p["bg"], handler_person_id=p[holder],
                        created_at=submitted, updated_at=submitted, submitted_at=submitted,
                        finished_at=finished, due_at=due, rating_score=score, result="",
                        escalation_level=0, overdue=0)

    with kapp.app_context():
        s = kapp.extensions["portal"].db.session()
        s.add_all([
            item("km", datetime(2026, 11, 1, 10), datetime(2026, 11, 2, 10), score=80),
            item("km", datetime(2026, 11, 3, 8), datetime(2026, 11, 3, 20), score=100),
            item("zg", datetime(2026, 11, 5, 9), due=datetime(2026, 11, 10, 17)),
            item("zg", datetime(2026, 11, 14, 9), due=datetime(2026, 11, 20, 17)),
            item("km", datetime(2026, 10, 1, 9), datetime(2026, 11, 20, 9)),  # open on the 15th
        ])
        s.commit()
        assert recompute(kapp, s, DAY, ("month",)).failed == {}
    o = d.org
    assert snap(kapp, "collab_open", "person", p["zg"]) == 2
    assert snap(kapp, "collab_open", "person", p["km"]) == 1
    assert snap(kapp, "collab_open", "unit", o.unit_a) == 3
    assert snap(kapp, "collab_open", "city", o.city) == 3
    assert snap(kapp, "collab_overdue", "person", p["zg"]) == 1
    assert snap(kapp, "collab_overdue", "person", p["km"]) is None
    assert snap(kapp, "collab_hours", "person", p["km"]) == pytest.approx(18)
    assert snap(kapp, "collab_hours", "city", o.city) == pytest.approx(18)
    assert snap(kapp, "collab_rating", "unit", o.unit_a) == pytest.approx(90)
    assert snap(kapp, "collab_open", "city", o.city, "month", date(2026, 10, 1)) is None
