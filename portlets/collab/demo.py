"""Demo work items: a few in every state, made through the service so they carry real traces."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.toolkit import Customer, Person, Post, PostAssignment, Principal
from portlets.collab import service


def as_principal(session: Session, person: Person) -> Principal:
    """The principal a person would have after signing in (posts from their assignments)."""
    rows = session.execute(select(Post.code, Post.roles, PostAssignment.org_unit_id,
                                  PostAssignment.manages)
                           .join(Post, Post.id == PostAssignment.post_id)
                           .where(PostAssignment.person_id == person.id)).all()
    roles = sorted({r for _c, rs, _u, _m in rows for r in (rs or [])})
    return Principal(person_id=person.id, username=person.username,
                     display_name=person.display_name, org_unit_id=person.org_unit_id,
                     posts=tuple(c for c, *_ in rows), roles=tuple(roles),
                     managed_units=tuple(u for _c, _r, u, m in rows if m and u))


STORIES = (
    # (originator, type, subject, content, to staff role, how far it goes)
    ("zhuanguan01", "violation_lead", "疑似销售非渠道卷烟",
     "<p>巡查发现该户柜台有外省卷烟，请客户经理核实进货记录。</p>", "account_manager", "pending"),
    ("songhuo01", "logistics", "送货时店铺连续两次关门",
     "<p>本周二、周四送货均关门，请确认是否停业。</p>", "account_manager", "handling"),
    ("kehu01", "customer_service", "零售户反映订货系统无法登录",
     "<p>客户反映新商盟无法登录，请配送站协助上门查看。</p>", "deliveryman", "finished"),
    ("kehu01", "market_check", "协助核查许可证公示情况",
     "<p>请专管员在下次巡查时核查许可证是否公示。</p>", "inspector", "archived"),
    ("zhuanguan01", "customer_service", "零售户要求调整送货时间", "<p>该户希望改为上午送货。</p>",
     "deliveryman", "escalated"),
)


def generate(session: Session, seed: int) -> None:
    rng = random.Random(seed + 707)
    people = {p.username: p for p in session.scalars(select(Person).where(Person.username.in_(
        [s[0] for s in STORIES] + ["kehu01", "songhuo01", "zhuanguan01"])))}
    base = datetime(2026, 11, 16, 9, 0)
    for i, (who, type_code, subject, content, role, goal) in enumerate(STORIES):
        author = people.get(who)
        if author is None:
            continue
        me = as_principal(session, author)
        customer = session.scalars(select(Customer).where(
            Customer.status == "ACTIVE", Customer.inspector_id == people["zhuanguan01"].id
            if "zhuanguan01" in people else Customer.id.is_not(None))
            .order_by(Customer.id).offset(rng.randrange(0, 20)).limit(1)).first()
        if customer is None:
            return
        at = base + timedelta(days=i, hours=rng.randrange(0, 6))
        item = service.save_draft(session, me, service.ItemForm(
            type_code=type_code, subject=subject, content=content,
            customer_id=customer.customer_code), service.Uploads(), now=at)
        service.submit(session, me, item, f"staff:{role}", now=at)
        if goal == "pending":
            continue
        handler = session.get(Person, item.handler_person_id)
        assert handler is not None
        them = as_principal(session, handler)
        if goal == "escalated":
            service.escalate(session, me, item, "多次沟通未果，请基层部门协调。",
                             now=at + timedelta(hours=3))
            continue
        service.accept(session, them, item, now=at + timedelta(hours=1))
        if goal == "handling":
            continue
        service.finish(session, them, item, "已上门处理，问题解决。", now=at + timedelta(hours=5))
        if goal == "finished":
            continue
        service.rate(session, me, item, "92", "优秀", "处理及时。", now=at + timedelta(days=1))
        service.archive(session, me, item, now=at + timedelta(days=1, hours=1))
