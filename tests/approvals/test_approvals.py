"""Online approval: the leave and purchase chains take their conditional steps, the generic
chain follows the chosen approvers; out of turn 403, unseen 404, stale 409, bad input 422 with
nothing saved; to-do items and leave on the calendar — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal.toolkit import (
    Principal,
    WorkflowInstance,
    WorkflowTask,
    calendar_events,
    todo_items,
)
from portlets.approvals.models import ApprovalRequest
from tests.conftest import Auth, make_app, seed_org

D = date.today() + timedelta(days=7)


@pytest.fixture(params=["sqlite", "postgresql"])
def papp(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    url = f"sqlite:///{tmp_path}/portal.db" if request.param == "sqlite" else \
        request.getfixturevalue("pg_url")
    app = make_app(url, DEFAULT_LOCALE="en")
    app.config["TEST_ORG"] = seed_org(app)
    yield app
    app.extensions["portal"].db.engine.dispose()


class Person:
    def __init__(self, app: Flask, username: str) -> None:
        self.app, self.client = app, app.test_client()
        self.id = app.config["TEST_ORG"].people[username]
        assert Auth(self.client).login(username).status_code == 302

    def leave(self, days: float, first: date = D, last: date | None = None, **extra: str) -> Any:
        last = last or first + timedelta(days=max(int(days + 0.5) - 1, 0))
        return self.client.post("/approvals/new/leave", data={
            "leave_type": "annual", "first_day": first.isoformat(),
            "last_day": last.isoformat(), "days": str(days), "reason": "探亲", **extra})

    def purchase(self, amount: str) -> Any:
        return self.client.post("/approvals/new/purchase", data={
            "items": "激光打印机 × 2\n硒鼓 × 4", "amount": amount, "reason": "更新设备"})

    def act(self, request_id: int, action: str, version: int | None = None,
            comment: str = "") -> Any:
        return self.client.post(f"/approvals/{request_id}/{action}", data={
            "version": str(version if version is not None else self.version(request_id)),
            "comment": comment})

    def version(self, request_id: int) -> int:
        with self.app.app_context():
            s = self.app.extensions["portal"].db.session()
            req = s.get(ApprovalRequest, request_id)
            assert req is not None
            inst = s.get(WorkflowInstance, req.instance_id)
            assert inst is not None
            return inst.version


def _id(response: Any) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def _chain(app: Flask, request_id: int) -> list[tuple[str, str | None]]:
    """(step, action) of every decided or open task after the applicant's, in order."""
    with app.app_context():
        s = app.extensions["portal"].db.session()
        req = s.get(ApprovalRequest, request_id)
        assert req is not None
        return [(t.step, t.action) for t in s.scalars(
            select(WorkflowTask).where(WorkflowTask.instance_id == req.instance_id,
                                       WorkflowTask.step != "apply",
                                       WorkflowTask.status != "closed")
            .order_by(WorkflowTask.id))]


def _status(app: Flask, request_id: int) -> str:
    with app.app_context():
        req = app.extensions["portal"].db.session().get(ApprovalRequest, request_id)
        assert req is not None
        return req.status


@pytest.mark.parametrize(("days", "nodes"), [(2, ["dept_head"]), (3, ["dept_head"]),
                                             (3.5, ["dept_head", "leader"]),
                                             (5, ["dept_head", "leader"])])
def test_leave_chain_by_days(papp: Flask, days: float, nodes: list[str]) -> None:
    zg = Person(papp, "zg")
    rid = _id(zg.leave(days))
    assert _chain(papp, rid) == [("dept_head", None)]
    bm, ld = Person(papp, "bm"), Person(papp, "ld")
    assert bm.act(rid, "approve", comment="同意").status_code == 302
    if "leader" in nodes:
        assert _status(papp, rid) == "pending"
        assert ld.act(rid, "approve").status_code == 302
    assert _status(papp, rid) == "approved"
    assert _chain(papp, rid) == [(n, "approve") for n in nodes]
    page = zg.client.get(f"/approvals/{rid}").get_data(as_text=True)
    assert "approved by 吴部长" in page and "同意" in page


def _assignees(app: Flask, request_id: int) -> dict[int, str]:
    """Who holds an open task of the request, on which step."""
    with app.app_context():
        s = app.extensions["portal"].db.session()
        req = s.get(ApprovalRequest, request_id)
        assert req is not None
        return {t.assignee_id: t.step for t in s.scalars(select(WorkflowTask).where(
            WorkflowTask.instance_id == req.instance_id, WorkflowTask.status == "open"))}


def test_a_head_asking_for_leave_is_not_their_own_approver(papp: Flask) -> None:
    """吴部长 heads 海宁; nobody above holds dept_head, so his leave goes to a leader."""
    bm, ld = Person(papp, "bm"), Person(papp, "ld")
    rid = _id(bm.leave(2))
    assert _assignees(papp, rid) == {ld.id: "dept_head"}
    assert bm.act(rid, "approve").status_code == 403
    assert ld.act(rid, "approve").status_code == 302
    assert _status(papp, rid) == "approved"


def test_a_purchase_nobody_else_can_approve_is_refused_readably(papp: Flask) -> None:
    """The only office clerk buys something: the office step would be hers alone, so the
    head's approval is refused (422, saying which step) and the request stays with him."""
    bg, ld = Person(papp, "bg"), Person(papp, "ld")
    rid = _id(bg.purchase("300"))
    assert _assignees(papp, rid) == {ld.id: "dept_head"}  # 嘉兴市局: no dept_head: a leader
    refused = ld.act(rid, "approve")
    assert refused.status_code == 422
    assert "办公室审核" in refused.get_data(as_text=True)
    assert _assignees(papp, rid) == {ld.id: "dept_head"} and _status(papp, rid) == "pending"


@pytest.mark.parametrize(("amount", "nodes"), [("3000", ["dept_head", "office"]),
                                               ("5000", ["dept_head", "office"]),
                                               ("5000.01", ["dept_head", "office", "leader"])])
def test_purchase_chain_by_amount(papp: Flask, amount: str, nodes: list[str]) -> None:
    zg = Person(papp, "zg")
    rid = _id(zg.purchase(amount))
    for who in ("bm", "bg", "ld")[:len(nodes)]:
        assert _status(papp, rid) == "pending"
        assert Person(papp, who).act(rid, "approve").status_code == 302
    assert _status(papp, rid) == "approved"
    assert _chain(papp, rid) == [(n, "approve") for n in nodes]


def test_generic_follows_chosen_approvers_and_return_goes_back(papp: Flask) -> None:
    zg, km, sh = Person(papp, "zg"), Person(papp, "km"), Person(papp, "sh")
    rid = _id(zg.client.post("/approvals/new/generic", data={
        "title": "申请借用投影仪", "body": "周三培训用", "approver": [str(km.id), str(sh.id), ""]}))
    assert _chain(papp, rid) == [("approver1", None)]
    assert sh.act(rid, "approve").status_code == 403  # not yet the deliveryman's turn
    assert km.act(rid, "approve").status_code == 302
    no_reason = sh.act(rid, "reject")
    assert no_reason.status_code == 422 and "Say why" in no_reason.get_data(as_text=True)
    assert sh.act(rid, "reject", comment="设备已借出，请改日").status_code == 302
    assert _status(papp, rid) == "returned"
    assert "设备已借出" in zg.client.get(f"/approvals/{rid}").get_data(as_text=True)
    assert sh.act(rid, "approve").status_code == 403  # back with the applicant
    assert zg.act(rid, "resubmit", comment="改为周四").status_code == 302
    assert _status(papp, rid) == "pending"
    assert km.act(rid, "approve").status_code == 302
    assert sh.act(rid, "approve").status_code == 302
    assert _status(papp, rid) == "approved"
    assert _chain(papp, rid) == [("approver1", "approve"), ("approver2", "reject"),
                                 ("approver1", "approve"), ("approver2", "approve")]
    assert sh.act(rid, "approve").status_code == 403  # finished: nothing left to do


def test_an_approver_may_refuse_and_that_ends_the_request(papp: Flask) -> None:
    zg, km, sh = Person(papp, "zg"), Person(papp, "km"), Person(papp, "sh")
    rid = _id(zg.client.post("/approvals/new/generic", data={
        "title": "申请购置新车", "body": "现有车辆老旧", "approver": [str(km.id), str(sh.id)]}))
    page = km.client.get(f"/approvals/{rid}").get_data(as_text=True)
    assert 'data-action="refuse"' in page
    no_reason = km.act(rid, "refuse")
    assert no_reason.status_code == 422 and "Say why" in no_reason.get_data(as_text=True)
    assert _status(papp, rid) == "pending"  # nothing half-done
    assert km.act(rid, "refuse", comment="今年没有预算").status_code == 302
    assert _status(papp, rid) == "refused"
    assert _chain(papp, rid) == [("approver1", "refuse")]
    mine = zg.client.get(f"/approvals/{rid}").get_data(as_text=True)
    assert "今年没有预算" in mine and 'data-action="resubmit"' not in mine
    assert sh.act(rid, "approve").status_code == 403  # ended: nobody has a turn
    assert zg.act(rid, "withdraw").status_code in (403, 422)


def test_out_of_turn_unseen_stale_and_withdraw(papp: Flask) -> None:
    zg, bm, ld, km = (Person(papp, u) for u in ("zg", "bm", "ld", "km"))
    rid = _id(zg.leave(5))
    out_of_turn = ld.act(rid, "approve")  # the leader is on the chain, but later
    assert out_of_turn.status_code == 404  # ...and has no task yet, so does not see it
    assert km.client.get(f"/approvals/{rid}").status_code == 404  # not on the chain
    assert km.act(rid, "approve").status_code == 404
    applicant = zg.act(rid, "approve")  # the applicant does not approve their own request
    assert applicant.status_code == 403
    assert "not your turn" in applicant.get_data(as_text=True)
    old = zg.version(rid)
    assert bm.act(rid, "approve", version=old).status_code == 302
    stale = zg.act(rid, "withdraw", version=old)
    assert stale.status_code == 409 and "reload the page" in stale.get_data(as_text=True)
    late = zg.act(rid, "withdraw")
    assert late.status_code == 422
    assert "nothing of yours to withdraw" in late.get_data(as_text=True)
    twice = bm.act(rid, "approve", version=old)  # the same form sent twice
    assert twice.status_code == 409
    early = bm.act(rid, "approve")  # fresh form, but the step is the leader's now
    assert early.status_code == 403
    # A fresh request can be withdrawn before anybody decides, then resubmitted.
    rid2 = _id(zg.leave(1))
    assert zg.act(rid2, "withdraw").status_code == 302
    assert _status(papp, rid2) == "withdrawn"
    assert bm.act(rid2, "approve").status_code == 403
    assert zg.act(rid2, "resubmit").status_code == 302
    assert bm.act(rid2, "approve").status_code == 302
    assert _status(papp, rid2) == "approved"
    assert zg.act(rid2, "bogus").status_code == 404


@pytest.mark.parametrize(("fields", "message"), [
    ({"last_day": (D - timedelta(days=1)).isoformat()}, "must not be before the first day"),
    ({"first_day": "下周一"}, "is not a date"),
    ({"days": "0"}, "must be more than zero"),
    ({"days": "abc"}, "is not a number"),
    ({"days": "9"}, "at most 1 for these dates"),
    ({"days": "0.3"}, "whole or half days"),
    ({"leave_type": "holiday"}, "type of leave"),
    ({"reason": " "}, "Reason is required"),
])
def test_bad_leave_forms_are_422_and_save_nothing(papp: Flask, fields: dict[str, str],
                                                  message: str) -> None:
    zg = Person(papp, "zg")
    response = zg.client.post("/approvals/new/leave", data={
        "leave_type": "annual", "first_day": D.isoformat(), "last_day": D.isoformat(),
        "days": "1", "reason": "探亲", **fields})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with papp.app_context():
        s = papp.extensions["portal"].db.session()
        assert s.scalar(select(func.count()).select_from(ApprovalRequest)) == 0
        assert s.scalar(select(func.count()).select_from(WorkflowInstance)) == 0


def test_bad_purchase_and_generic(papp: Flask) -> None:
    zg = Person(papp, "zg")
    assert zg.purchase("-5").status_code == 422
    assert zg.purchase("NaN").status_code == 422
    assert zg.client.post("/approvals/new/generic", data={
        "title": "x", "body": "y", "approver": ""}).status_code == 422
    assert zg.client.post("/approvals/new/generic", data={
        "title": "x", "body": "y", "approver": "99999"}).status_code == 422
    assert zg.client.post("/approvals/new/nothing", data={}).status_code == 404


def test_todo_and_calendar(papp: Flask) -> None:
    org = papp.config["TEST_ORG"]
    zg = Person(papp, "zg")
    rid = _id(zg.leave(2, first=D, last=D + timedelta(days=1)))
    with papp.test_request_context():
        bm = Principal(person_id=org.people["bm"], username="bm", display_name="吴部长",
                       org_unit_id=org.unit_a, managed_units=(org.unit_a,))
        [item] = [i for i in todo_items(bm) if i.source == "Approval"]
        assert item.url == f"/approvals/{rid}" and item.due is not None
        assert item.due > datetime.now() + timedelta(hours=23)
        me = Principal(person_id=org.people["zg"], username="zg", display_name="张专管",
                       org_unit_id=org.unit_a)
        start = datetime.combine(D, datetime.min.time())
        [leave] = [e for e in calendar_events(me, start, start + timedelta(days=7))
                   if e.kind == "leave"]
        assert leave.all_day and leave.start == start
        assert leave.end == start + timedelta(days=2)
        assert "in approval" in leave.title
        assert not [e for e in calendar_events(me, start + timedelta(days=2),
                                               start + timedelta(days=9)) if e.kind == "leave"]
