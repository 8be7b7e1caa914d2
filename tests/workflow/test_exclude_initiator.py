"""``exclude_initiator``: an approval step never lands on the person who started the instance
(a department head asking for leave is not their own 部门审核). The search climbs the unit
tree, then takes the ``fallback`` rule, and refuses (422, nothing written) when nobody is left.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal import workflow as wf
from portal.models import OrgUnit, Person, Post, PostAssignment
from portal.workflow.definition import DefinitionError, from_mapping
from tests.conftest import Org
from tests.workflow.test_engine import NOW, db, do, state


def begin(app: Flask, who: int, **data: Any) -> int:
    """*who* starts a recusal-test request and submits the draft."""
    with db(app) as s:
        inst = wf.start(s, "test_selfless", subject_type="test", subject_id=9, initiator=who,
                        data={"title": "请假三天", **data}, now=NOW)
        task = wf.open_task_for(s, inst.id, who)
        assert task is not None
        wf.act(s, task.id, who, "approve", expected_version=inst.version, now=NOW)
        return inst.id


def add_person(app: Flask, username: str, post: str, unit_id: int) -> int:
    with app.app_context():
        s = app.extensions["portal"].db.session()
        p = Person(username=username, display_name=username, org_unit_id=unit_id)
        s.add(p)
        s.flush()
        s.add(PostAssignment(person_id=p.id, org_unit_id=unit_id, manages=True,
                             post_id=s.scalars(select(Post.id).where(Post.code == post)).one()))
        s.commit()
        return p.id


def test_someone_else_applying_still_goes_to_their_head(wf_app: Flask, wf_org: Org) -> None:
    p = wf_org.people
    inst_id = begin(wf_app, p["km"])
    assert state(wf_app, inst_id)[1:] == (["dept"], {p["bm"]: "dept"})


def test_without_the_option_the_head_gets_their_own_step(wf_app: Flask, wf_org: Org) -> None:
    """The old rule (test_request's dept step has no exclude_initiator) — the gap closed here."""
    with db(wf_app) as s:
        inst = wf.start(s, "test_request", subject_type="test", subject_id=1,
                        initiator=wf_org.people["bm"], data={}, now=NOW)
        task = wf.open_task_for(s, inst.id, wf_org.people["bm"])
        assert task is not None
        wf.act(s, task.id, wf_org.people["bm"], "approve", expected_version=inst.version,
               now=NOW)
    assert state(wf_app, inst.id)[2] == {wf_org.people["bm"]: "dept"}


def test_the_head_applying_goes_up_to_the_parent_units_head(wf_app: Flask,
                                                            wf_org: Org) -> None:
    """A head of a sub-unit of 海宁 applies: the search climbs to 海宁, whose head approves."""
    with wf_app.app_context():
        s = wf_app.extensions["portal"].db.session()
        parent = s.get(OrgUnit, wf_org.unit_a)
        assert parent is not None
        sub = OrgUnit(code="HN-ZM", name="海宁专卖科", kind="section", parent_id=parent.id)
        s.add(sub)
        s.flush()
        sub.path = f"{parent.path}{sub.id}/"
        s.commit()
        sub_id = sub.id
    head = add_person(wf_app, "bs", "dept_head", sub_id)
    inst_id = begin(wf_app, head)
    assert state(wf_app, inst_id)[1:] == (["dept"], {wf_org.people["bm"]: "dept"})


def test_nobody_above_takes_the_fallback_rule(wf_app: Flask, wf_org: Org) -> None:
    """海宁's head applies; 嘉兴市局 above has no dept_head: the fallback, a leader, approves."""
    p = wf_org.people
    inst_id = begin(wf_app, p["bm"])
    assert state(wf_app, inst_id)[1:] == (["dept"], {p["ld"]: "dept"})


def test_a_countersign_leaves_out_the_initiators_own_unit(wf_app: Flask, wf_org: Org) -> None:
    p = wf_org.people
    other = add_person(wf_app, "bm3", "dept_head", wf_org.unit_a)  # 海宁's second head
    inst_id = begin(wf_app, p["zg"], countersign_units=[wf_org.unit_a, wf_org.unit_b])
    do(wf_app, inst_id, p["bm"])
    assert state(wf_app, inst_id)[2] == {p["bm"]: "countersign", other: "countersign",
                                         p["bm2"]: "countersign"}
    # Now 海宁's head starts one: only 海宁's other head and 桐乡 countersign, never bm.
    inst_id = begin(wf_app, p["bm"], countersign_units=[wf_org.unit_a, wf_org.unit_b])
    do(wf_app, inst_id, other)
    assert state(wf_app, inst_id)[2] == {other: "countersign", p["bm2"]: "countersign"}


def test_a_group_left_empty_is_dropped(wf_app: Flask, wf_org: Org) -> None:
    p = wf_org.people
    inst_id = begin(wf_app, p["bm"], countersign_units=[wf_org.unit_a, wf_org.unit_b])
    do(wf_app, inst_id, p["ld"])  # the fallback approved the dept step
    assert state(wf_app, inst_id)[1:] == (["countersign"], {p["bm2"]: "countersign"})


def test_an_applicant_cannot_choose_themselves(wf_app: Flask, wf_org: Org) -> None:
    """The chosen approver is the applicant: nobody is left, the approval is refused (422)
    and nothing is written — the dept task stays open, the version unchanged."""
    p = wf_org.people
    inst_id = begin(wf_app, p["km"], approver=p["km"])
    with db(wf_app) as s:
        inst = s.get(wf.Instance, inst_id)
        assert inst is not None
        version = inst.version
        tasks_before = s.scalar(select(func.count()).select_from(wf.Task))
    with pytest.raises(wf.InvalidAction) as exc:
        do(wf_app, inst_id, p["bm"])
    assert exc.value.status == 422 and "指定审批人" in exc.value.message
    with db(wf_app) as s:
        inst = s.get(wf.Instance, inst_id)
        assert inst is not None and inst.version == version
        assert s.scalar(select(func.count()).select_from(wf.Task)) == tasks_before
    assert state(wf_app, inst_id)[1:] == (["dept"], {p["bm"]: "dept"})


def test_the_only_leader_applying_has_nobody_to_approve(wf_app: Flask, wf_org: Org) -> None:
    """钱领导 is in 嘉兴市局: no dept head there or above, and the fallback (a leader but him)
    names nobody either: submitting is refused and the draft stays his."""
    p = wf_org.people
    with db(wf_app) as s:
        inst_id = wf.start(s, "test_selfless", subject_type="test", subject_id=9,
                           initiator=p["ld"], data={}, now=NOW).id
    with pytest.raises(wf.InvalidAction) as exc:
        do(wf_app, inst_id, p["ld"])
    assert exc.value.status == 422 and "部门审核" in exc.value.message
    assert state(wf_app, inst_id)[1:] == (["draft"], {p["ld"]: "draft"})


@pytest.mark.parametrize(("assignee", "message"), [
    ({"initiator": True, "exclude_initiator": True}, "cannot exclude the initiator"),
    ({"post": "dept_head", "fallback": {"boss": 1}}, "step b fallback: unknown assignee key"),
    ({"post": "dept_head", "fallback": {"post": "x", "each": "unit"}}, "cannot split"),
])
def test_bad_exclusion_rules_are_refused(assignee: dict[str, Any], message: str) -> None:
    raw = {"id": "t", "steps": [{"id": "draft", "assignee": {"initiator": True}},
                                {"id": "b", "assignee": assignee}]}
    with pytest.raises(DefinitionError) as exc:
        from_mapping(raw, "forms/t.yaml")
    assert message in str(exc.value)
