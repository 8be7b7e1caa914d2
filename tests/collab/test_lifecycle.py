"""A work item's whole life through the pages, on SQLite and PostgreSQL: create with an
attachment, submit to a customer's staff, forward, finish, rate, archive; trace and notices."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from connectors.sms.gateway import RunningGateway
from connectors.sms.models import SmsDelivery
from portlets.collab.models import Attachment, WorkItem, WorkStep
from portlets.notices.models import Notice, NoticeReceipt
from tests.collab.conftest import Actor, item_id_of
from tests.conftest import seed_org


def test_whole_life(any_app: Flask, gateway: RunningGateway) -> None:
    org = seed_org(any_app)
    zg, km, sh = (Actor(any_app, u) for u in ("zg", "km", "sh"))

    item_id = item_id_of(zg.create(customer="330401000000", target="staff:account_manager",
                                   files=[(b"%PDF-1.4 evidence", "现场照片.pdf")]))
    page = km.client.get("/collab/").get_data(as_text=True)
    assert "疑似销售非渠道卷烟" in page  # in the account manager's to-do folder

    # Notified in the portal (a notice linking to the item) and by SMS through the gateway.
    with any_app.app_context():
        s = any_app.extensions["portal"].db.session()
        notice = s.scalars(select(Notice).where(Notice.kind == "collab.assigned")).one()
        assert notice.link == f"/collab/items/{item_id}"
        assert s.scalars(select(NoticeReceipt.person_id).where(
            NoticeReceipt.notice_id == notice.id)).all() == [org.people["km"]]
        sms = s.scalars(select(SmsDelivery)).one()
        assert (sms.person_id, sms.status, sms.phone) == (org.people["km"], "sent",
                                                         "13800000000")
    [message] = gateway.state.messages
    assert message["PhoneNumbers"] == ["13800000000"]
    assert message["SignName"] == "嘉兴烟草"
    assert message["TemplateParam"]["subject"] == "疑似销售非渠道卷烟"
    assert message["BizId"] == sms.biz_id

    assert km.act(item_id, "accept").status_code == 302
    assert km.act(item_id, "forward", target=f"person:{org.people['sh']}",
                  comment="请送货时顺便核实", files=[(b"notes", "核实要点.txt")]).status_code == 302
    assert sh.act(item_id, "finish", result="已核实：外省烟已下架").status_code == 302
    assert zg.act(item_id, "rate", score="90", comment="处理及时").status_code == 302
    assert zg.act(item_id, "archive").status_code == 302

    with any_app.app_context():
        s = any_app.extensions["portal"].db.session()
        item = s.get(WorkItem, item_id)
        assert item is not None
        assert (item.state, item.rating_score, item.result) == ("archived", 90,
                                                                "已核实：外省烟已下架")
        steps = s.execute(select(WorkStep.action, WorkStep.actor_name, WorkStep.from_state,
                                 WorkStep.to_state).where(WorkStep.item_id == item_id)
                          .order_by(WorkStep.seq)).all()
        assert [tuple(r) for r in steps] == [
            ("submit", "张专管", "draft", "pending"),
            ("accept", "王经理", "pending", "handling"),
            ("forward", "王经理", "handling", "pending"),
            ("finish", "赵送货", "pending", "finished"),
            ("rate", "张专管", "finished", "rated"),
            ("archive", "张专管", "rated", "archived"),
        ]
        files = s.execute(select(Attachment.filename, WorkStep.action).outerjoin(
            WorkStep, WorkStep.id == Attachment.step_id).order_by(Attachment.id)).all()
        assert [tuple(f) for f in files] == [("现场照片.pdf", None), ("核实要点.txt", "forward")]
        # Each hand-over told its new holder: km on submit, sh on forward, zg on finish.
        kinds = s.execute(select(Notice.kind, func.count()).group_by(Notice.kind)).all()
        assert dict(kinds) == {"collab.assigned": 2, "collab.finished": 1}

    # The trace shows who did what, with the comment and the forwarded file.
    page = zg.client.get(f"/collab/items/{item_id}").get_data(as_text=True)
    assert "请送货时顺便核实" in page and "核实要点.txt" in page
    # The archive finds it by its content.
    assert "疑似销售非渠道卷烟" in zg.client.get("/collab/?box=archive&q=外省").get_data(
        as_text=True)
    assert "疑似销售非渠道卷烟" not in zg.client.get("/collab/?box=archive&q=无关").get_data(
        as_text=True)


def test_content_is_sanitized_and_attachment_downloads(capp: Flask, corg) -> None:  # type: ignore[no-untyped-def]
    zg, km = Actor(capp, "zg"), Actor(capp, "km")
    item_id = item_id_of(zg.create(
        target=f"person:{corg.people['km']}",
        content='<p onclick="x()">见<a href="javascript:alert(1)">链接</a><script>alert(2)'
                '</script><b>重要</b></p>', files=[(b"%PDF-1.4", "a.pdf")]))
    with capp.app_context():
        s = capp.extensions["portal"].db.session()
        item = s.get(WorkItem, item_id)
        assert item is not None
        assert "script" not in item.content and "onclick" not in item.content
        assert "javascript" not in item.content and "<b>重要</b>" in item.content
        attachment_id = s.scalar(select(Attachment.id))
    response = km.client.get(f"/collab/attachments/{attachment_id}")
    assert response.status_code == 200 and response.data == b"%PDF-1.4"
    assert "a.pdf" in response.headers["Content-Disposition"]
    response.close()
    outsider = Actor(capp, "zg2")
    assert outsider.client.get(f"/collab/attachments/{attachment_id}").status_code == 403


def test_draft_edit_then_submit_and_delete(capp: Flask, corg) -> None:  # type: ignore[no-untyped-def]
    zg = Actor(capp, "zg")
    item_id = item_id_of(zg.create(submit=False))
    km = Actor(capp, "km")
    assert km.client.get(f"/collab/items/{item_id}").status_code == 404  # drafts are private
    response = zg.client.post(f"/collab/items/{item_id}/edit", data={
        "type_code": "market_check", "subject": "改后的主题", "content": "内容",
        "customer": "", "target": f"person:{corg.people['km']}", "action": "submit",
        "version": str(zg.version(item_id))})
    assert response.status_code == 302
    assert "改后的主题" in km.client.get(f"/collab/items/{item_id}").get_data(as_text=True)
    # A submitted item is no draft: it cannot be deleted.
    assert zg.act(item_id, "delete").status_code == 409
    other = item_id_of(zg.create(submit=False, subject="草稿"))
    assert zg.act(other, "delete").status_code == 302
    with capp.app_context():
        assert capp.extensions["portal"].db.session().get(WorkItem, other) is None
