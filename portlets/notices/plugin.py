"""Registration of the notices portlet: the hooks are the whole contract with the core."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import render_template, url_for
from sqlalchemy import bindparam, case, func, or_, select

from portal.toolkit import (
    CachePolicy,
    DomainEvent,
    LiveBadge,
    Mode,
    Person,
    Portlet,
    Post,
    Preference,
    PreferenceSchema,
    Principal,
    RenderContext,
    SearchResult,
    Size,
    TodoItem,
    Variance,
    db_session,
    excerpt,
    gettext,
    hookimpl,
    lazy_gettext,
    notification_for,
    run_prepared,
)
from portlets.notices import service
from portlets.notices.models import Notice, NoticeReceipt, NoticeTarget
from portlets.notices.views import bp

HERE = Path(__file__).parent


def _window_query(unread_only: bool) -> Any:
    """The window's one query: the latest notices received, each row also carrying the
    person's unread count (a window aggregate over all their receipts, or all their unread
    ones: the same number; no rows, no unread). Built once per variant: the window renders on
    every request when the portlet cache is off."""
    n, r = Notice.__table__.c, NoticeReceipt.__table__.c
    unread = func.count(case((r.read_at.is_(None), 1))).over().label("unread")
    query = (select(n.id, n.title, n.sender_name, n.submitted_at, r.read_at, unread)
             .join_from(Notice.__table__, NoticeReceipt.__table__, r.notice_id == n.id)
             .where(r.person_id == bindparam("person_id")))
    if unread_only:
        query = query.where(r.read_at.is_(None))
    return query.order_by(n.submitted_at.desc(), n.id.desc()).limit(bindparam("limit"))


WINDOW = {False: _window_query(False), True: _window_query(True)}


def render(ctx: RenderContext) -> str:
    """The homepage window: latest notices received, unread first in the badge."""
    rows = run_prepared(WINDOW[bool(ctx.preferences["unread_only"])], {
        "person_id": ctx.principal.person_id, "limit": int(ctx.preferences["limit"])}).all()
    return render_template("notices/portlet.html", rows=rows,
                           unread=rows[0].unread if rows else 0)


PORTLET = Portlet(
    id="notices",
    title=lazy_gettext("Work notices"),
    description=lazy_gettext("Notices from colleagues and leaders, with unread count."),
    category="work",
    render=render,
    default_size=Size(6, 4),
    min_size=Size(3, 3),
    modes=frozenset({Mode.VIEW, Mode.EDIT, Mode.HELP}),
    preferences=PreferenceSchema((
        Preference("limit", "int", 6, lazy_gettext("Notices shown"), minimum=3, maximum=20),
        Preference("unread_only", "bool", False, lazy_gettext("Unread only")),
    )),
    # Output depends on the user's receipts; submissions and reads bump the user's version.
    cache=CachePolicy(ttl=300, vary=Variance.USER),
    timeout=1.5,
    blueprint=bp,
    help=lazy_gettext("Open a notice to mark it read. Write one with “New notice”: choose "
                      "people, posts or units; it stays a draft until you submit it."),
    icon="✉",
)


@hookimpl
def portal_portlets() -> Iterable[Portlet]:
    return [PORTLET]


@hookimpl
def portal_migrations() -> str:
    return str(HERE / "migrations" / "versions")


@hookimpl
def portal_translations() -> str:
    return str(HERE / "translations")


class PortalChannel:
    """The in-portal channel: every notification shows in the recipients' notices window."""

    name = "portal"
    label = lazy_gettext("Work notices")


@hookimpl
def portal_notification_channels() -> Iterable[PortalChannel]:
    return [PortalChannel()]


@hookimpl
def portal_handle_events(events: list[DomainEvent]) -> None:
    """The "portal" channel: the notifications of a whole outbox batch become notices at once
    (a sync run tells hundreds of people in one batch)."""
    wanted = [(e.id, n) for e in events
              if (n := notification_for(e, PortalChannel.name)) is not None]
    # Delivery announces the notices to their recipients once the outbox transaction commits.
    service.deliver_all(db_session(), wanted)


@hookimpl
def portal_live_badges(principal: Principal) -> Iterable[LiveBadge]:
    """The unread count in the page header, kept current by the notices' live messages."""
    return [LiveBadge(name="notices", label=gettext("Unread notices"),
                      url=url_for("notices.inbox"), count_url=url_for("notices.unread"),
                      portlet=PORTLET.id, icon="✉")]


#: Unread notices listed as to-dos, and search hits, at most.
TODO_LIMIT = 300
SEARCH_LIMIT = 20


def _todo_query() -> Any:
    n, r = Notice.__table__.c, NoticeReceipt.__table__.c
    return (select(n.id, n.title, n.submitted_at)
            .join_from(Notice.__table__, NoticeReceipt.__table__, r.notice_id == n.id)
            .where(r.person_id == bindparam("person_id"), r.read_at.is_(None))
            .order_by(n.submitted_at.desc()).limit(TODO_LIMIT))


#: Built once: the to-do window asks on every request when the portlet cache is off.
TODO = _todo_query()


@hookimpl
def portal_todo_items(principal: Principal) -> Iterable[TodoItem]:
    """Unread notices are to-dos of the reader."""
    rows = run_prepared(TODO, {"person_id": principal.person_id}).all()
    source = str(lazy_gettext("Notice"))
    return [TodoItem(source=source, title=r.title,
                     url=url_for("notices.show", notice_id=r.id), created=r.submitted_at)
            for r in rows]


@hookimpl
def portal_search(principal: Principal, query: str) -> Iterable[SearchResult]:
    """Notices the person received, by words in the title or the text (newest first)."""
    words = [f"%{w.replace('%', '').replace('_', '')}%" for w in query.split()]
    rows = db_session().execute(
        select(Notice.id, Notice.title, Notice.content, Notice.submitted_at)
        .join(NoticeReceipt, NoticeReceipt.notice_id == Notice.id)
        .where(NoticeReceipt.person_id == principal.person_id,
               *[or_(Notice.title.like(w), Notice.content.like(w)) for w in words])
        .order_by(Notice.submitted_at.desc()).limit(SEARCH_LIMIT)).all()
    source = str(lazy_gettext("Notice"))
    return [SearchResult(source=source, title=r.title,
                         url=url_for("notices.show", notice_id=r.id),
                         snippet=excerpt(r.content, query.split()),
                         when=r.submitted_at, score=2.0 if query in r.title else 1.0)
            for r in rows]


DEMO_NOTICES = (
    ("关于开展2026年第四季度卷烟市场检查的通知",
     "各专卖管理所：请于12月15日前完成辖区零售户季度走访，重点检查许可证公示与进货渠道。",
     ["inspector"]),
    ("客户经理月度拜访计划提交提醒", "请各客户经理于每月25日前在平台提交下月拜访计划。",
     ["account_manager"]),
    ("冬季送货安全提示", "近期雨雪天气较多，送货途中注意行车安全，合理安排线路。",
     ["deliveryman"]),
    ("“三员协同”工作例会通知", "定于下周三下午两点在市局三楼会议室召开三员协同工作例会，"
     "请各部门负责人参加。", ["dept_head", "leader"]),
    ("个人工作平台上线试运行", "个人工作平台已上线试运行，欢迎提出意见建议。",
     ["inspector", "account_manager", "deliveryman", "dept_head", "office", "leader", "admin"]),
)


@hookimpl
def portal_demo_data(session: Any, seed: int) -> None:
    """A few submitted notices from the office to each post, some already read."""
    rng = random.Random(seed + 101)
    sender = session.scalars(select(Person).where(Person.username == "bangong01")).first() or \
        session.scalars(select(Person).order_by(Person.id)).first()
    if sender is None:
        return
    base = datetime(2026, 11, 2, 9, 0)
    names = dict(session.execute(select(Post.code, Post.name)).all())
    for i, (title, content, posts) in enumerate(DEMO_NOTICES):
        notice = Notice(title=title, content=content, sender_id=sender.id,
                        sender_name=sender.display_name,
                        targets=[NoticeTarget(kind="post", ref=p, label=names.get(p, p))
                                 for p in posts])
        session.add(notice)
        session.flush()
        service.submit(session, notice, now=base + timedelta(days=3 * i, hours=i))
        session.flush()
        for receipt in session.scalars(select(NoticeReceipt).where(
                NoticeReceipt.notice_id == notice.id)):
            if rng.random() < 0.4:
                receipt.read_at = base + timedelta(days=3 * i + 1)
