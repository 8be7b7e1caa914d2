"""Deadlines on a working-hours calendar, with an injected clock: a reminder before the
deadline, escalation up the type's ladder after it, manual escalation with a reason."""

from __future__ import annotations

from datetime import datetime

from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import select

from portal.toolkit import Principal, dispatch_pending
from portlets.collab import service
from portlets.collab.calendar import add_working_hours, working_hours_between
from portlets.collab.escalation import tick
from portlets.collab.models import WorkItem, WorkStep
from portlets.collab.plugin import collab_cli
from portlets.notices.models import Notice
from tests.collab.conftest import Actor, item_id_of
from tests.conftest import Org

MONDAY_9 = datetime(2026, 11, 23, 9, 0)


def test_working_hours_skip_lunch_nights_weekends_and_holidays(capp: Flask) -> None:
    with capp.app_context():
        assert add_working_hours(MONDAY_9, 2) == datetime(2026, 11, 23, 11, 0)
        assert add_working_hours(MONDAY_9, 4) == datetime(2026, 11, 23, 14, 30)  # lunch
        assert add_working_hours(MONDAY_9, 8) == datetime(2026, 11, 24, 9, 30)   # night
        friday = datetime(2026, 11, 27, 16, 30)
        assert add_working_hours(friday, 2) == datetime(2026, 11, 30, 9, 30)     # weekend
        assert add_working_hours(datetime(2026, 11, 28, 12, 0), 1) == \
            datetime(2026, 11, 30, 9, 30)                                         # Saturday
        capp.extensions["portal"].settings["COLLAB_HOLIDAYS"] = ["2026-11-30"]
        assert add_working_hours(friday, 2) == datetime(2026, 12, 1, 9, 30)
        assert working_hours_between(MONDAY_9, datetime(2026, 11, 23, 14, 30)) == 4.0


def _submit(app: Flask, org: Org, type_code: str = "violation_lead") -> int:
    """An item submitted on Monday 09:00 (violation_lead: 8 working hours → Tue 09:30)."""
    with app.test_request_context():
        s = app.extensions["portal"].db.session()
        zg = Principal(org.people["zg"], "zg", "张专管", org.unit_a)
        item = service.save_draft(s, zg, service.ItemForm(
            type_code=type_code, subject="限时事项", content="x"), service.Uploads(),
            now=MONDAY_9)
        service.submit(s, zg, item, f"person:{org.people['km']}", now=MONDAY_9)
        s.commit()
        return item.id


def test_reminder_then_escalation_up_the_ladder(capp: Flask, corg: Org) -> None:
    item_id = _submit(capp, corg)
    with capp.test_request_context():
        s = capp.extensions["portal"].db.session()
        item = s.get(WorkItem, item_id)
        assert item is not None and item.due_at == datetime(2026, 11, 24, 9, 30)

        # Monday afternoon: nothing is due soon.
        assert tick(s, datetime(2026, 11, 23, 15, 0)).reminded == 0
        # Monday 17:00: two working hours before Tue 09:30 → one reminder, only once.
        assert tick(s, datetime(2026, 11, 23, 17, 0)).reminded == 1
        assert tick(s, datetime(2026, 11, 23, 17, 10)).reminded == 0
        s.commit()
        dispatch_pending(capp)
        assert s.scalar(select(Notice.title).where(Notice.kind == "collab.reminder"))

        # Tuesday 10:00: past the deadline → 基层部门 (km's own unit, 海宁), overdue.
        result = tick(s, datetime(2026, 11, 24, 10, 0))
        s.commit()
        assert result.escalated == 1
        s.refresh(item)
        assert (item.state, item.escalation_level, item.handler_unit_id,
                item.handler_person_id, item.overdue) == ("escalated", 1, corg.unit_a, None, 1)
        # Next deadline runs from the escalation; missing it goes to 市局职能部门, then 党组
        # (neither exists in the test organisation, so both resolve to the city bureau).
        tick(s, datetime(2026, 11, 25, 11, 0))
        tick(s, datetime(2026, 11, 26, 12, 0))
        s.commit()
        s.refresh(item)
        assert (item.escalation_level, item.handler_unit_id) == (3, corg.city)
        # At the top of the ladder the clock only marks it overdue.
        assert tick(s, datetime(2026, 11, 30, 12, 0)).escalated == 0
        steps = s.execute(select(WorkStep.action, WorkStep.actor_name).where(
            WorkStep.item_id == item_id).order_by(WorkStep.seq)).all()
        assert [a for a, _n in steps] == ["submit", "remind", "escalate", "escalate",
                                          "escalate"]
        assert steps[2][1] == "Deadline clock"


def test_manual_escalation_needs_a_reason_and_reaches_the_unit_inbox(
        capp: Flask, corg: Org) -> None:
    zg, km, sh = Actor(capp, "zg"), Actor(capp, "km"), Actor(capp, "sh")
    item_id = item_id_of(zg.create(target=f"person:{corg.people['km']}"))
    assert km.act(item_id, "escalate", reason="").status_code == 400
    assert km.act(item_id, "escalate", reason="需要部门协调").status_code == 302
    # Every member of the unit now sees it in the inbox and may claim it.
    assert "疑似销售非渠道卷烟" in sh.client.get("/collab/").get_data(as_text=True)
    assert sh.act(item_id, "accept").status_code == 302


def test_tick_command_with_a_given_clock(capp: Flask, corg: Org) -> None:
    _submit(capp, corg)
    info = ScriptInfo(create_app=lambda: capp)
    result = CliRunner().invoke(collab_cli, ["tick", "--now", "2026-11-24T10:00"], obj=info)
    assert result.exit_code == 0, result.output
    assert "escalated 1" in result.output
    with capp.app_context():  # the command delivered its events: the unit was told
        s = capp.extensions["portal"].db.session()
        assert s.scalar(select(Notice.title).where(Notice.kind == "collab.escalated"))
    bad = CliRunner().invoke(collab_cli, ["tick", "--now", "tomorrow"], obj=info)
    assert bad.exit_code == 2 and "ISO" in bad.output


def test_failing_rating_reopens_for_the_finisher(capp: Flask, corg: Org) -> None:
    zg, km = Actor(capp, "zg"), Actor(capp, "km")
    item_id = item_id_of(zg.create(type_code="customer_service",
                                   target=f"person:{corg.people['km']}"))
    assert km.act(item_id, "finish", result="已处理").status_code == 302
    assert zg.act(item_id, "rate", grade="不合格").status_code == 400  # say why
    assert zg.act(item_id, "rate", grade="很好").status_code == 400
    assert zg.act(item_id, "rate", grade="不合格", comment="未解决").status_code == 302
    with capp.app_context():
        item = capp.extensions["portal"].db.session().get(WorkItem, item_id)
        assert item is not None
        assert (item.state, item.handler_person_id, item.rating_grade) == \
            ("reopened", corg.people["km"], "不合格")
    assert km.act(item_id, "finish", result="再次上门，已解决").status_code == 302
    assert zg.act(item_id, "rate", grade="良好").status_code == 302
    assert zg.act(item_id, "rate", grade="优秀").status_code == 409  # rated once


def test_score_rating(capp: Flask, corg: Org) -> None:
    zg, km = Actor(capp, "zg"), Actor(capp, "km")
    item_id = item_id_of(zg.create(type_code="market_check",
                                   target=f"person:{corg.people['km']}"))
    assert km.act(item_id, "finish", result="ok").status_code == 302
    assert zg.act(item_id, "rate", score="101").status_code == 400
    assert zg.act(item_id, "rate", score="59", comment="太慢").status_code == 302
    assert km.act(item_id, "finish", result="ok").status_code == 302
    assert zg.act(item_id, "rate", score="60").status_code == 302
