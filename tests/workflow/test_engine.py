"""The workflow engine on SQLite and PostgreSQL: steps, conditions, countersign, return,
withdraw, time limits, and every refusal (out of turn, stale version, invalid action)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal import workflow as wf
from portal.models import OutboxEvent
from tests.conftest import Org

NOW = datetime(2026, 12, 1, 9, 0)


@contextmanager
def db(app: Flask) -> Iterator[Session]:
    with app.app_context():
        s = app.extensions["portal"].db.session()
        try:
            yield s
            s.commit()
        except Exception:
            s.rollback()
            raise


def begin(app: Flask, org: Org, **data: Any) -> int:
    """km starts a request and submits the draft; returns the instance id."""
    with db(app) as s:
        inst = wf.start(s, "test_request", subject_type="test", subject_id=7,
                        initiator=org.people["km"], data={"title": "买打印机", **data}, now=NOW)
        task = wf.open_task_for(s, inst.id, org.people["km"])
        assert task is not None and task.step == "draft"
        wf.act(s, task.id, org.people["km"], "approve", expected_version=inst.version, now=NOW)
        return inst.id


def do(app: Flask, inst_id: int, who: int, action: str = "approve", **kw: Any) -> wf.Instance:
    with db(app) as s:
        inst = s.get(wf.Instance, inst_id)
        assert inst is not None
        task = wf.open_task_for(s, inst_id, who)
        assert task is not None, f"person {who} has no open task"
        return wf.act(s, task.id, who, action, expected_version=inst.version, now=NOW, **kw)


def state(app: Flask, inst_id: int) -> tuple[str, list[str], dict[int, str]]:
    """Status, current steps, and who holds an open task on which step."""
    with db(app) as s:
        inst = s.get(wf.Instance, inst_id)
        assert inst is not None
        holders = {t.assignee_id: t.step for t in wf.tasks(s, inst_id) if t.status == "open"}
        return inst.status, list(inst.current_steps), holders


def test_a_small_request_goes_draft_dept_office_end(wf_app: Flask, wf_org: Org) -> None:
    p = wf_org.people
    inst_id = begin(wf_app, wf_org, amount=100)
    assert state(wf_app, inst_id) == ("running", ["dept"], {p["bm"]: "dept"})
    with db(wf_app) as s:
        (task,) = wf.open_tasks(s, p["bm"])
        assert task.due_at == NOW + timedelta(days=2)  # the step's time limit
    do(wf_app, inst_id, p["bm"], comment="同意")
    assert state(wf_app, inst_id) == ("running", ["office"], {p["bg"]: "office"})
    do(wf_app, inst_id, p["bg"])
    status, steps, holders = state(wf_app, inst_id)
    assert (status, steps, holders) == ("finished", [], {})
    with db(wf_app) as s:
        log = wf.history(s, inst_id)
        assert [(h.step, h.action) for h in log] == [
            ("draft", "start"), ("draft", "approve"), ("dept", "approve"),
            ("office", "approve")]
        assert log[2].comment == "同意" and log[2].to_steps == ["office"]
        events = s.scalars(select(OutboxEvent).where(OutboxEvent.type == wf.EVENT_TYPE)
                           .order_by(OutboxEvent.id)).all()
        assert len(events) == 4
        assert events[-1].payload["finished"] is True
        assert events[2].payload["assignees"] == [p["bg"]]
        # the next assignee was told, with a link to the form
        notices = s.scalars(select(OutboxEvent).where(OutboxEvent.type == "notification")).all()
        assert any(n.payload["recipients"] == [p["bg"]] and n.payload["link"] == "/wf-test/7"
                   for n in notices)
        # ...and nobody of a task they gave themselves: km's own draft at the start.
        assert not [n for n in notices if p["km"] in n.payload["recipients"]]


def test_condition_sends_a_large_amount_to_the_leader(wf_app: Flask, wf_org: Org) -> None:
    p = wf_org.people
    inst_id = begin(wf_app, wf_org, amount=8000)
    do(wf_app, inst_id, p["bm"])
    assert state(wf_app, inst_id)[1:] == (["leader"], {p["ld"]: "leader"})
    do(wf_app, inst_id, p["ld"])
    assert state(wf_app, inst_id)[1] == ["office"]


def test_data_given_while_acting_decides_the_condition(wf_app: Flask, wf_org: Org) -> None:
    p = wf_org.people
    inst_id = begin(wf_app, wf_org, amount=100)
    do(wf_app, inst_id, p["bm"], data={"amount": 9000})
    assert state(wf_app, inst_id)[1] == ["leader"]


def test_countersign_needs_every_unit(wf_app: Flask, wf_org: Org) -> None:
    p = wf_org.people
    inst_id = begin(wf_app, wf_org, amount=10, countersign_units=[wf_org.unit_a, wf_org.unit_b])
    do(wf_app, inst_id, p["bm"])
    assert state(wf_app, inst_id)[1:] == (["countersign"],
                                          {p["bm"]: "countersign", p["bm2"]: "countersign"})
    do(wf_app, inst_id, p["bm2"])
    assert state(wf_app, inst_id)[1:] == (["countersign"], {p["bm"]: "countersign"})
    do(wf_app, inst_id, p["bm"])
    assert state(wf_app, inst_id)[1:] == (["office"], {p["bg"]: "office"})


def test_one_countersign_rejection_returns_to_the_draft(wf_app: Flask, wf_org: Org) -> None:
    p = wf_org.people
    inst_id = begin(wf_app, wf_org, countersign_units=[wf_org.unit_a, wf_org.unit_b])
    do(wf_app, inst_id, p["bm"])
    do(wf_app, inst_id, p["bm2"], "reject", comment="预算不足")
    assert state(wf_app, inst_id)[1:] == (["draft"], {p["km"]: "draft"})
    with db(wf_app) as s:
        statuses = {(t.assignee_id, t.step): t.status for t in wf.tasks(s, inst_id)
                    if t.step == "countersign"}
        assert statuses == {(p["bm"], "countersign"): "closed",
                            (p["bm2"], "countersign"): "done"}


def test_return_goes_to_the_step_before(wf_app: Flask, wf_org: Org) -> None:
    p = wf_org.people
    inst_id = begin(wf_app, wf_org)
    do(wf_app, inst_id, p["bm"], "reject", comment="请补充")
    assert state(wf_app, inst_id)[1:] == (["draft"], {p["km"]: "draft"})
    do(wf_app, inst_id, p["km"])  # resubmitted
    assert state(wf_app, inst_id)[1:] == (["dept"], {p["bm"]: "dept"})


def test_withdraw_before_the_next_step_acts(wf_app: Flask, wf_org: Org) -> None:
    p = wf_org.people
    inst_id = begin(wf_app, wf_org)
    with db(wf_app) as s:
        inst = s.get(wf.Instance, inst_id)
        assert inst is not None and wf.can_withdraw(s, inst, p["km"])
        with pytest.raises(wf.NotYourTurn) as exc:
            wf.withdraw(s, inst_id, p["bm"], expected_version=inst.version)
        assert exc.value.status == 403
        wf.withdraw(s, inst_id, p["km"], expected_version=inst.version)
    assert state(wf_app, inst_id)[1:] == (["draft"], {p["km"]: "draft"})
    with db(wf_app) as s:
        assert wf.open_tasks(s, p["bm"]) == []


def test_no_withdraw_once_the_next_step_acted(wf_app: Flask, wf_org: Org) -> None:
    p = wf_org.people
    inst_id = begin(wf_app, wf_org)
    do(wf_app, inst_id, p["bm"])
    with db(wf_app) as s:
        inst = s.get(wf.Instance, inst_id)
        assert inst is not None and not wf.can_withdraw(s, inst, p["km"])
        with pytest.raises(wf.InvalidAction) as exc:
            wf.withdraw(s, inst_id, p["km"], expected_version=inst.version)
        assert exc.value.status == 422


def test_acting_out_of_turn_is_refused(wf_app: Flask, wf_org: Org) -> None:
    p = wf_org.people
    inst_id = begin(wf_app, wf_org)
    with db(wf_app) as s:
        inst = s.get(wf.Instance, inst_id)
        assert inst is not None
        (task,) = wf.open_tasks(s, p["bm"])
        with pytest.raises(wf.NotYourTurn) as exc:
            wf.act(s, task.id, p["zg"], "approve", expected_version=inst.version)
        assert exc.value.status == 403 and exc.value.message
    assert state(wf_app, inst_id)[1:] == (["dept"], {p["bm"]: "dept"})


def test_a_stale_version_is_refused_and_nothing_changes(wf_app: Flask, wf_org: Org) -> None:
    p = wf_org.people
    inst_id = begin(wf_app, wf_org)
    with db(wf_app) as s:
        inst = s.get(wf.Instance, inst_id)
        assert inst is not None
        (task,) = wf.open_tasks(s, p["bm"])
        with pytest.raises(wf.StaleVersion) as exc:
            wf.act(s, task.id, p["bm"], "approve", expected_version=inst.version - 1)
        assert exc.value.status == 409
    assert state(wf_app, inst_id)[1:] == (["dept"], {p["bm"]: "dept"})


def test_two_people_acting_on_the_same_version_one_wins(wf_app: Flask, wf_org: Org) -> None:
    p = wf_org.people
    inst_id = begin(wf_app, wf_org, countersign_units=[wf_org.unit_a, wf_org.unit_b])
    do(wf_app, inst_id, p["bm"])
    with db(wf_app) as s:
        version = s.get(wf.Instance, inst_id).version  # type: ignore[union-attr]
    do(wf_app, inst_id, p["bm2"])
    with db(wf_app) as s, pytest.raises(wf.StaleVersion):
        task = wf.open_task_for(s, inst_id, p["bm"])
        assert task is not None
        wf.act(s, task.id, p["bm"], "approve", expected_version=version)


def test_unknown_action_and_first_step_return_are_invalid(wf_app: Flask, wf_org: Org) -> None:
    p = wf_org.people
    with db(wf_app) as s:
        inst = wf.start(s, "test_request", subject_type="test", subject_id=1,
                        initiator=p["km"], data={})
        task = wf.open_task_for(s, inst.id, p["km"])
        assert task is not None
        with pytest.raises(wf.InvalidAction) as exc:
            wf.act(s, task.id, p["km"], "delete", expected_version=inst.version)
        assert exc.value.status == 422
        with pytest.raises(wf.InvalidAction):
            wf.act(s, task.id, p["km"], "reject", expected_version=inst.version)


def test_nobody_to_assign_refuses_and_leaves_nothing(wf_app: Flask, wf_org: Org) -> None:
    """ld sits in the city, where nobody holds dept_head: submitting is refused, and the
    instance stays as it was."""
    p = wf_org.people
    with db(wf_app) as s:
        inst = wf.start(s, "test_request", subject_type="test", subject_id=2,
                        initiator=p["ld"], data={})
        inst_id, version = inst.id, inst.version
    with db(wf_app) as s:
        task = wf.open_task_for(s, inst_id, p["ld"])
        assert task is not None
        with pytest.raises(wf.InvalidAction) as exc:
            wf.act(s, task.id, p["ld"], "approve", expected_version=version)
        assert "部门审核" in exc.value.message
    with db(wf_app) as s:
        inst2 = s.get(wf.Instance, inst_id)
        assert inst2 is not None and inst2.version == version
        assert inst2.current_steps == ["draft"]
        assert s.scalar(select(func.count()).select_from(wf.Task)
                        .where(wf.Task.instance_id == inst_id)) == 1


def test_open_tasks_nearest_due_first(wf_app: Flask, wf_org: Org) -> None:
    p = wf_org.people
    first = begin(wf_app, wf_org)  # reaches office later, due NOW + 8h
    second = begin(wf_app, wf_org)
    do(wf_app, first, p["bm"])
    with db(wf_app) as s:  # the second reaches the office an hour later: due later
        inst = s.get(wf.Instance, second)
        assert inst is not None
        task = wf.open_task_for(s, second, p["bm"])
        assert task is not None
        wf.act(s, task.id, p["bm"], "approve", expected_version=inst.version,
               now=NOW + timedelta(hours=1))
    with db(wf_app) as s:
        got = [t.instance_id for t in wf.open_tasks(s, p["bg"])]
        assert got == [first, second]


def test_a_refusal_ends_the_instance_where_the_definition_allows_it(
        wf_app: Flask, wf_org: Org) -> None:
    p = wf_org.people
    inst_id = begin(wf_app, wf_org, amount=100)
    inst = do(wf_app, inst_id, p["bm"], "refuse", comment="预算不足")
    assert (inst.status, inst.outcome) == ("finished", "refused")
    assert state(wf_app, inst_id) == ("finished", [], {})
    with db(wf_app) as s:
        assert [(h.step, h.action) for h in wf.history(s, inst_id)][-1] == ("dept", "refuse")
        assert not wf.can_withdraw(s, s.get(wf.Instance, inst_id), p["km"])  # type: ignore[arg-type]
    # A step that does not say ``refuse: true`` cannot refuse: 422, nothing changes.
    other = begin(wf_app, wf_org, amount=100)
    do(wf_app, other, p["bm"])
    with pytest.raises(wf.InvalidAction) as exc:
        do(wf_app, other, p["bg"], "refuse", comment="不行")
    assert exc.value.status == 422
    assert state(wf_app, other) == ("running", ["office"], {p["bg"]: "office"})
