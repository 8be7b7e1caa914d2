"""Work notices: drafts, targets, submission, who may read, read counts, the portlet badge."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import func, select

from portal.models import OutboxEvent
from portlets.notices.models import Notice, NoticeReceipt
from tests.conftest import Auth, seed_org


def _new(auth: Auth, **form: object) -> object:
    data = {"title": "例会通知", "content": "周三下午两点开会", "action": "draft", **form}
    return auth.client.post("/p/notices/new", data=data)


def _id(resp: object) -> int:
    return int(re.search(r"/p/notices/(\d+)", resp.headers["Location"]).group(1))  # type: ignore[attr-defined]


def test_full_life_of_a_notice(db_app: Flask) -> None:
    org = seed_org(db_app)
    sender, reader, other = (Auth(db_app.test_client()) for _ in range(3))
    sender.login("bg")
    reader.login("zg")
    other.login("km")

    resp = _new(sender, posts=["inspector"])
    assert resp.status_code == 302
    with db_app.app_context():
        s = db_app.extensions["portal"].db.session()
        notice_id = s.scalar(select(Notice.id))
    # A draft is the sender's alone.
    assert reader.client.get(f"/p/notices/{notice_id}").status_code == 404
    r = sender.client.post(f"/p/notices/{notice_id}/edit",
                           data={"title": "例会通知(改)", "content": "改到周四",
                                 "posts": ["inspector"], "action": "draft"})
    assert r.status_code == 302
    r = sender.client.post(f"/p/notices/{notice_id}/submit")
    assert r.status_code == 302
    # Submitted: frozen.
    assert sender.client.get(f"/p/notices/{notice_id}/edit").status_code == 409
    assert sender.client.post(f"/p/notices/{notice_id}/delete").status_code == 409

    # Both inspectors got it; the account manager did not.
    home = reader.client.get("/").get_data(as_text=True)
    assert "例会通知(改)" in home and "1 条未读" in home
    assert other.client.get(f"/p/notices/{notice_id}").status_code == 403
    assert "例会通知(改)" not in other.client.get("/").get_data(as_text=True)

    page = reader.client.get(f"/p/notices/{notice_id}").get_data(as_text=True)
    assert "改到周四" in page
    home = reader.client.get("/").get_data(as_text=True)  # cache was refreshed by the read
    assert "没有未读通知" in home
    sent = sender.client.get(f"/p/notices/{notice_id}").get_data(as_text=True)
    assert "1 / 2" in sent  # one of the two inspectors has read it
    with db_app.app_context():
        s = db_app.extensions["portal"].db.session()
        assert s.scalar(select(func.count(NoticeReceipt.id))) == 2
        event = s.scalars(select(OutboxEvent)).one()
        assert event.type == "notice.submitted" and event.dispatched_at is not None
    assert org.people["zg2"]


def test_targets_by_person_and_unit_subtree(app: Flask) -> None:
    org = seed_org(app)
    sender = Auth(app.test_client())
    sender.login("ld")
    r = _new(sender, usernames="sh， km", orgs=[str(org.unit_b)], action="submit")
    assert r.status_code == 302
    with app.app_context():
        s = app.extensions["portal"].db.session()
        got = set(s.scalars(select(NoticeReceipt.person_id)))
    assert got == {org.people["sh"], org.people["km"], org.people["zg2"]}


def test_bad_input_saves_nothing(app: Flask) -> None:
    seed_org(app)
    sender = Auth(app.test_client())
    sender.login("bg")
    cases = [
        ({"title": ""}, "请输入标题"),
        ({"title": "x" * 201}, "最多 200 个字符"),
        ({"content": ""}, "请输入内容"),
        ({}, "请至少选择一个人员、岗位或部门"),
        ({"usernames": "nobody"}, "找不到这些人员：nobody"),
        ({"posts": ["no_such_post"]}, "未知的岗位"),
        ({"orgs": ["abc"]}, "未知的组织机构"),
    ]
    for form, message in cases:
        r = _new(sender, **form)
        assert r.status_code == 400, form
        assert message in r.get_data(as_text=True), form
    with app.app_context():
        s = app.extensions["portal"].db.session()
        assert s.scalar(select(func.count(Notice.id))) == 0
    bad_page = sender.client.get("/p/notices/?page=0")
    assert bad_page.status_code == 400 and "页码必须是正整数" in bad_page.get_data(as_text=True)
    assert sender.client.get("/p/notices/?box=trash").status_code == 400
    assert sender.client.get("/p/notices/99999").status_code == 404


def test_only_the_sender_edits_or_deletes_a_draft(app: Flask) -> None:
    seed_org(app)
    sender, intruder = Auth(app.test_client()), Auth(app.test_client())
    sender.login("bg")
    intruder.login("km")
    _new(sender, posts=["inspector"])
    with app.app_context():
        notice_id = app.extensions["portal"].db.session().scalar(select(Notice.id))
    assert intruder.client.get(f"/p/notices/{notice_id}/edit").status_code == 404
    assert intruder.client.post(f"/p/notices/{notice_id}/delete").status_code == 404
    r = sender.client.post(f"/p/notices/{notice_id}/delete")
    assert r.status_code == 302
    with app.app_context():
        assert app.extensions["portal"].db.session().scalar(select(func.count(Notice.id))) == 0
