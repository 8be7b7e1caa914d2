"""Demo requests of 专管员 zhuanguan01 through the chains: a short leave waiting for the
department head, a long one approved by head and leader, a purchase above 5,000 yuan, a
general request to the office."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.toolkit import Person, Post, PostAssignment, Principal, WorkflowError
from portlets.approvals import engine


def _principal(session: Session, person: Person) -> Principal:
    rows = session.execute(select(Post.code, PostAssignment.org_unit_id, PostAssignment.manages)
                           .join(Post, Post.id == PostAssignment.post_id)
                           .where(PostAssignment.person_id == person.id)).all()
    return Principal(person_id=person.id, username=person.username,
                     display_name=person.display_name, org_unit_id=person.org_unit_id,
                     posts=tuple(c for c, _u, _m in rows),
                     managed_units=tuple(u for _c, u, m in rows if m and u))


def generate(session: Session, seed: int) -> None:
    people = {p.username: p for p in session.scalars(select(Person).where(Person.username.in_(
        ["zhuanguan01", "bangong01"])))}
    if "zhuanguan01" not in people:
        return
    today = date.today()
    now = datetime.now().replace(microsecond=0) - timedelta(hours=3)
    # One applicant: the engine tells each new assignee (the applicant too, for their own
    # first step), and the live-stream tests listen on kehu01, who must get no demo notices.
    zg = _principal(session, people["zhuanguan01"])
    km = zg
    try:
        engine.start(session, "leave", initiator=km, now=now,
                     title=f"年休假，2 天，自 {today + timedelta(days=2)}",
                     data={"leave_type": "annual", "first_day": str(today + timedelta(days=2)),
                           "last_day": str(today + timedelta(days=3)), "days": 2.0,
                           "reason": "家中有事"})
        long = engine.start(session, "leave", initiator=zg, now=now,
                            title=f"年休假，5 天，自 {today + timedelta(days=7)}",
                            data={"leave_type": "annual",
                                  "first_day": str(today + timedelta(days=7)),
                                  "last_day": str(today + timedelta(days=11)), "days": 5.0,
                                  "reason": "探亲"})
        for _ in range(2):  # the head, then the leader
            [task] = [t for t in engine.tasks(session, long) if t.status == "open"][:1]
            approver = session.get(Person, task.assignee_id)
            assert approver is not None
            engine.act(session, long, _principal(session, approver), "approve",
                       expected_version=engine.instance(session, long).version,
                       comment="同意", now=now)
        engine.start(session, "purchase", initiator=km, now=now,
                     title="采购：激光打印机 × 2（7,600.00 元）",
                     data={"items": ["激光打印机 × 2", "硒鼓 × 4"], "amount": 7600.0,
                           "reason": "客户服务部打印机老化"})
        if "bangong01" in people:
            office = people["bangong01"].id
            engine.start(session, "generic", initiator=km, now=now, title="申请使用市局报告厅",
                         data={"body": "下周三下午召开零售户座谈会，约 60 人。",
                               "approvers": [office], "approver1": office})
    except WorkflowError:
        return  # a demo organisation without the posts a chain needs: no demo requests
    session.flush()
