"""Demo supervision tasks: from 领导 lingdao01 to departments and people, one overdue, one
reported done, one accepted, each made through the service so it carries a real trail."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.toolkit import Person, Principal
from portlets.supervision import service

STORIES = (
    ("落实卷烟市场专项整治行动", "zhuanguan01", 5, "open"),
    ("报送三季度客户经营分析报告", "kehu01", -2, "open"),  # overdue
    ("完成配送线路优化方案", "songhuo01", 3, "done"),
    ("整改办公楼消防安全隐患", "bangong01", 10, "accepted"),
)


def _principal(person: Person, posts: tuple[str, ...]) -> Principal:
    return Principal(person_id=person.id, username=person.username,
                     display_name=person.display_name, org_unit_id=person.org_unit_id,
                     posts=posts)


def generate(session: Session, seed: int) -> None:
    people = {p.username: p for p in session.scalars(select(Person).where(Person.username.in_(
        ["lingdao01", *[s[1] for s in STORIES]])))}
    if "lingdao01" not in people:
        return
    leader = _principal(people["lingdao01"], ("leader",))
    now = datetime.now().replace(second=0, microsecond=0)
    for title, username, days, goal in STORIES:
        person = people.get(username)
        if person is None:
            continue
        created = now - timedelta(days=7)
        task = service.create(session, leader, title, "请按时反馈进展，逾期将通报。",
                              f"person:{person.id}", created + timedelta(days=7 + days),
                              now=created)
        them = _principal(person, ())
        service.report_progress(session, them, task, "已召开专题会议部署，正在推进。", "40",
                                now=created + timedelta(days=1))
        if goal in ("done", "accepted"):
            service.finish(session, them, task, "已全部完成，详见报告。",
                           now=created + timedelta(days=3))
        if goal == "accepted":
            service.accept(session, leader, task, "完成较好。", now=created + timedelta(days=4))
    session.flush()
